"""Scores the starter zoo against the world's contract on fresh cases and prints the targets table,
plus accuracy against the number of diffusion steps (from which the default is chosen).

    python -m bench.starter_quality [--cases 200] [--seed 12345] [--write-cards]

Fresh cases: scenes and requests drawn with a seed the trainers never use (they use 0..9). A fresh seed
does not make a fresh scene: the world is small, and most of these scenes occur in training (all of the
one-object ones); bench/training_overlap.py counts how many, and scores the held-out split.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch

from bench import prompter_quality, training_overlap
from bench.starter_cases import CAPTIONER, DIFFUSION, PROMPTER, diffusion_accuracy, scenes  # noqa: F401
from pipelines.core.settings import settings
from pipelines.models.captioner import caption_loaded
from pipelines.tasks.generate import generate
from pipelines.tasks.stylize import stylize
from worlds.shapes.scene_parser import compare, parse_image
from worlds.shapes.world import parse_sentence, reading_order, render_pil, sentence, with_style
from zoo.cache import ModelCache
from zoo.registry import load_registry


def stylize_accuracy(cache, scene_list, seed: int) -> float:
    right = []
    for i, scene in enumerate(scene_list):
        target = "outline" if scene.style == "flat" else "flat"
        out = stylize(cache, render_pil(scene), f"{target} style", DIFFUSION, seed=seed + i).image
        right.append(compare(with_style(scene, target), parse_image(out))["correct"])
    return sum(right) / len(right)


def captioner_accuracy(cache, scene_list) -> float:
    with cache.use(CAPTIONER) as vlm:
        captions = []
        for start in range(0, len(scene_list), 50):
            captions += caption_loaded(vlm, [render_pil(s) for s in scene_list[start : start + 50]])
    return sum(describes(c, s) for c, s in zip(captions, scene_list)) / len(scene_list)


def captioner_accuracy_second_renderer(cache, n: int, seed: int) -> float:
    """Exact sentences (either object order) on pictures from bench/spec_render.py, every other one antialiased."""
    from bench.spec_render import describe as spec_sentence
    from bench.spec_render import draw_scene, random_objects

    rng, pictures, wanted = random.Random(seed), [], []
    for i in range(n):
        background, style = rng.choice(["white", "black", "gray"]), rng.choice(["flat", "outline"])
        objects = random_objects(rng, rng.choice((1, 2)))
        pictures.append(draw_scene(background, style, objects, antialias=i % 2 == 1))
        wanted.append(parse_sentence(spec_sentence(background, style, objects)))
    with cache.use(CAPTIONER) as vlm:
        captions = []
        for start in range(0, n, 50):
            captions += caption_loaded(vlm, pictures[start : start + 50])
    return sum(describes(c, s) for c, s in zip(captions, wanted)) / n


def describes(caption: str, scene) -> bool:
    """The caption is a canonical sentence of the scene: a two-object picture has two, one per object order."""
    read = parse_sentence(caption)
    return read is not None and caption == sentence(read) and reading_order(read) == reading_order(scene)


def prompter_accuracy(cache, seed: int, n: int) -> float:
    """English requests, sample-and-check (the expand pipeline); bench/prompter_quality.py has the rest."""
    return prompter_quality.score(cache, prompter_quality.cases(seed, n, "English"), seed)[1]


def seconds_per_picture(cache, repeats: int = 20) -> float:
    generate(cache, "a small red circle in the center on a white background, flat style", model_id=DIFFUSION, seed=0)
    started = time.perf_counter()
    for i in range(repeats):
        generate(
            cache,
            "a large blue square on the left and a small pink cross on the right on a gray background, flat style",
            model_id=DIFFUSION,
            seed=i,
        )
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--steps", default="1,2,4,8", help="diffusion step counts for the steps table")
    parser.add_argument("--write-cards", action="store_true", help="append the tables to the model cards")
    args = parser.parse_args()
    torch.manual_seed(0)
    cache = ModelCache(load_registry())
    text = measured_text(cache, args.seed, args.cases, [int(s) for s in args.steps.split(",")])
    print(text)
    if args.write_cards:
        for model in ("shapes-diffusion", "shapes-captioner", "shapes-prompter"):
            card = Path(__file__).resolve().parent.parent / "zoo" / "starter" / model / "README.md"
            body = card.read_text().split("\n## Measured by bench/starter_quality.py")[0].rstrip()
            card.write_text(body + "\n\n## Measured by bench/starter_quality.py\n\n" + text)
    prompter_table = prompter_quality.table(cache, args.seed + 4, args.cases, draw=60)
    print(prompter_table)
    if args.write_cards:
        prompter_quality.write_card(prompter_table)


def measured_text(cache, seed: int, n: int, step_counts: list[int]) -> str:
    """The targets table, the steps table and the overlap with training, as the cards show them."""
    entry = cache.registry.get(DIFFUSION)
    one, two = scenes(seed, n, 1), scenes(seed + 1, n, 2)
    steps_rows = [
        (steps, diffusion_accuracy(cache, entry, one, steps, seed), diffusion_accuracy(cache, entry, two, steps, seed))
        for steps in step_counts
    ]
    default_steps = settings(entry)["steps"]
    at_default = next((r for r in steps_rows if r[0] == default_steps), None) or (
        default_steps,
        diffusion_accuracy(cache, entry, one, default_steps, seed),
        diffusion_accuracy(cache, entry, two, default_steps, seed),
    )
    table = ["| model | measure | measured | target | met |", "| --- | --- | --- | --- | --- |"]
    table += [
        f"| {m} | {what} | {100 * v:.1f} % | {t} | {'yes' if v >= low else 'no'} |"
        for m, what, v, t, low in target_rows(cache, seed, n, at_default)
    ]
    spp = seconds_per_picture(cache)
    table.append(
        f"| shapes-diffusion | seconds per 64 x 64 picture, default settings ({default_steps} steps), "
        f"{torch.get_num_threads()}-thread CPU | {spp:.3f} s | <= 0.5 | {'yes' if spp <= 0.5 else 'no'} |"
    )
    steps_table = ["| steps | one-object right | two-object right |", "| --- | --- | --- |"]
    steps_table += [f"| {s} | {100 * a:.1f} % | {100 * b:.1f} % |" for s, a, b in steps_rows]
    seen, draws, config = training_overlap.diffusion_training_pictures()
    return (
        f"Fresh cases: {n} one-object and {n} two-object scenes (seed {seed}), {n // 2} stylize cases, "
        f"{n} captions, {n} requests.\n\n"
        + "\n".join(table)
        + "\n\nAccuracy against diffusion steps:\n\n"
        + "\n".join(steps_table)
        + "\n\n"
        + training_overlap.overlap_text(seen, draws, config, seed, n)
        + "\n\n"
        + training_overlap.held_out_text(cache, seen, seed, n)
        + "\n"
    )


def target_rows(cache, seed: int, n: int, at_default) -> list[tuple[str, str, float, str, float]]:
    """(model, measure, measured share, target text, target share) for every target of the starter zoo."""
    styl = stylize_accuracy(cache, scenes(seed + 2, n // 2, None), seed)
    second = "exact sentence on pictures of a second renderer (bench/spec_render.py, half antialiased; either order)"
    return [
        ("shapes-diffusion", "one-object scenes entirely right", at_default[1], ">= 90 %", 0.90),
        ("shapes-diffusion", "two-object scenes entirely right", at_default[2], ">= 75 %", 0.75),
        ("shapes-diffusion", "stylize: objects kept, style switched", styl, ">= 80 %", 0.80),
        (
            "shapes-captioner",
            "exact canonical sentence on rendered pictures (either object order)",
            captioner_accuracy(cache, scenes(seed + 3, n, None)),
            ">= 95 %",
            0.95,
        ),
        ("shapes-captioner", second, captioner_accuracy_second_renderer(cache, n, seed + 5), ">= 97 %", 0.97),
        (
            "shapes-prompter",
            "English requests: canonical output keeping every stated attribute (sample-and-check)",
            prompter_accuracy(cache, seed + 4, n),
            ">= 95 %",
            0.95,
        ),
    ]


if __name__ == "__main__":
    main()

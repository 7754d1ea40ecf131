"""Scores the starter prompter (starter/shapes-prompter) on fresh requests, in English, in Chinese, in
English with Chinese words, and on requests of held-out scenes, three ways: the model's first sample
alone; sample-and-check (up to 4 samples, the first one the rule-based request reader passes, else the
best by the reader's agreement: the model and the checker, computed here); and what the `expand`
pipeline returns (the same, except that when no sample passes the world's grammar writes the canonical
sentence itself, World.complete). A case is right when the output is a canonical sentence with every
attribute the request states and as many objects; "states" is what the request generator put in, not
what the reader reads, so the reader's own mistakes count against the last two.

    python -m bench.prompter_quality [--cases 200] [--seed 12349] [--draw 60] [--model-dir DIR] [--write-card]

--model-dir DIR scores the prompter in DIR (a trained checkpoint folder with its training_config.json)
instead of zoo/starter/shapes-prompter; --write-card then writes into DIR/README.md.

--draw N also draws N Chinese one-object requests end to end (`generate`, which expands them because
they are not canonical) and counts the pictures whose scene (worlds.shapes.scene_parser) has every
stated attribute.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path

import torch

from pipelines.models.expander import WORLD_RETRIES, _generate, expand
from pipelines.tasks.generate import generate
from worlds import world_for
from worlds.shapes.chinese import freeform_zh, mixed
from worlds.shapes.requests import Request, freeform, stated_subset
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import held_out, parse_sentence, random_scene
from zoo.cache import ModelCache
from zoo.registry import load_registry

PROMPTER = "starter/shapes-prompter"
CARD = Path(__file__).resolve().parent.parent / "zoo" / "starter" / "shapes-prompter"
SECTION = "## Prompter figures (bench/prompter_quality.py)"
WRITERS = {"English": freeform, "Chinese": freeform_zh, "English with Chinese words": mixed}


def _state_held_out(scene, request: Request) -> Request:
    """The request with the attributes that put the scene in the held-out split stated, so that the
    request itself never occurs in training."""
    objects = []
    for o, r in zip(scene.objects, request.objects):
        if o.colour == "purple" and o.shape == "triangle":
            r = replace(r, colour=o.colour, shape=o.shape)
        if o.shape == "cross" and o.size == "small" and o.position == "top":
            r = replace(r, shape=o.shape, size=o.size, position=o.position)
        objects.append(r)
    return replace(request, objects=tuple(objects))


def cases(seed: int, n: int, language: str, held: bool = False) -> list[tuple[str, Request]]:
    """n (request text, what it states) pairs from fresh scenes; held=True: only held-out scenes."""
    rng = random.Random(f"{seed}-{language}-{held}")
    out = []
    while len(out) < n:
        scene = random_scene(rng)
        if held_out(scene) != held:
            continue
        stated = stated_subset(scene, rng, rng.uniform(0.2, 1.0))
        stated = _state_held_out(scene, stated) if held else stated
        out.append((WRITERS[language](stated, rng), stated))
    return out


def right(stated: Request, text: str) -> bool:
    scene = parse_sentence(text)
    return scene is not None and all(stated.agrees_with(scene).values())


def first_and_checked(lm, entry, request: str, seed: int) -> tuple[str, str]:
    """(the first sample, the sample-and-check output): up to WORLD_RETRIES samples with the seeds `expand`
    uses, the first that the world's reader passes, else the one it agrees with most (the earliest of equals)."""
    world = world_for(entry.world)
    samples = []
    for attempt in range(WORLD_RETRIES):
        text = _generate(lm, entry, request, seed + attempt)
        samples.append((world.agreement(request, text), -attempt, text))
        if samples[-1][0] == 1.0:
            break
    return samples[0][2], max(samples)[2]


def score(cache: ModelCache, batch: list[tuple[str, Request]], seed: int) -> tuple[float, float, float]:
    """(first sample alone, sample-and-check, `expand` with the grammar's fallback): shares of right outputs."""
    entry = cache.registry.get(PROMPTER)
    with cache.use(PROMPTER) as lm:
        pairs = [first_and_checked(lm, entry, text, seed + i) for i, (text, _) in enumerate(batch)]
    first = [right(stated, f) for (f, _), (_, stated) in zip(pairs, batch)]
    checked = [right(stated, c) for (_, c), (_, stated) in zip(pairs, batch)]
    # where a sample passed, `expand` returns that very sample (same seeds, same check); it runs only for the rest
    world = world_for(entry.world)
    expanded = [
        right(stated, c if world.agreement(text, c) == 1.0 else expand(cache, text, PROMPTER, seed + i))
        for i, ((text, stated), (_, c)) in enumerate(zip(batch, pairs))
    ]
    return sum(first) / len(first), sum(checked) / len(checked), sum(expanded) / len(expanded)


def training_requests(folder: Path = CARD) -> set[str]:
    """Every request the prompter in `folder` was trained on, regenerated from its training_config.json
    (the trainer draws batch i from seed and i alone)."""
    from training.train_prompter import SEPARATOR, example

    config = json.loads((folder / "training_config.json").read_text())
    seen = set()
    for step in range(config["steps"]):
        rng = random.Random(config["seed"] * 1_000_003 + step)
        for _ in range(config["batch"]):
            prompt, _ = example(rng, config["unknown_word_rate"], config["languages"])
            seen.add(prompt.removesuffix(" " + SEPARATOR))
    return seen


def drawn_right(cache: ModelCache, seed: int, n: int) -> float:
    """Chinese one-object requests drawn end to end: share of pictures with every stated attribute."""
    rng = random.Random(f"{seed}-draw")
    ok = []
    for i in range(n):
        stated = stated_subset(random_scene(rng, 1), rng, rng.uniform(0.3, 1.0))
        picture = generate(cache, freeform_zh(stated, rng), seed=seed + i).images[0]
        agrees = stated.agrees_with(parse_image(picture))
        ok.append(all(agrees.values()))
    return sum(ok) / n


def table(cache: ModelCache, seed: int, n: int, draw: int, folder: Path = CARD) -> str:
    seen = training_requests(folder)
    rows = [
        "| requests | cases | request seen in training | first sample alone (the model) | sample-and-check, "
        f"up to {WORLD_RETRIES} (model + rule-based reader) | with the grammar's fallback (`expand`) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    sets = [(lang, False, n if lang != "English with Chinese words" else n // 2) for lang in WRITERS]
    sets += [("English", True, n // 2), ("Chinese", True, n // 2)]
    for language, held, size in sets:
        batch = cases(seed, size, language, held)
        shares = score(cache, batch, seed)
        name = f"held-out scenes, {language}" if held else language
        overlap = sum(text in seen for text, _ in batch)
        rows.append(f"| {name} | {size} | {overlap} | " + " | ".join(f"{100 * v:.1f} %" for v in shares) + " |")
    text = (
        f"`python -m bench.prompter_quality --seed {seed} --cases {n} --draw {draw}`: fresh requests; "
        f"right = a canonical sentence with "
        f'every stated attribute and as many objects. "Seen in training" counts requests that occur word for '
        f"word among the {len(seen)} distinct training requests, regenerated from training_config.json; a "
        f"held-out request states a held-out combination (purple triangle, small cross at the top), whose "
        f"scenes no training request comes from.\n\n"
        f"Three columns: the first sample alone is the model alone. Sample-and-check adds the rule-based "
        f"reader (worlds/shapes/requests.py, chinese.py): up to {WORLD_RETRIES} samples, the first it passes, "
        f"else the sample it agrees with most; the model still writes every sentence. The grammar's fallback "
        f"column is what `python -m pipelines expand` returns: the same, except that when no sample passes, the "
        f"rule-based grammar writes the canonical sentence itself (World.complete) from what the reader finds "
        f"in the request, so there the model writes nothing.\n\n" + "\n".join(rows) + "\n"
    )
    if draw:
        share = drawn_right(cache, seed, draw)
        text += (
            f"\nDrawn end to end (`generate`, which expands a request that is not canonical, then "
            f"starter/shapes-diffusion): {draw} Chinese one-object requests, {100 * share:.1f} % of the pictures "
            f"have every stated attribute (read from the picture by worlds.shapes.scene_parser).\n"
        )
    return text


def write_card(text: str, folder: Path = CARD) -> None:
    """Puts the figures in the prompter's card (replacing earlier ones), before the section that
    bench/starter_quality.py writes."""
    card = folder / "README.md"
    body = card.read_text()
    if SECTION in body:
        before, after = body.split("\n" + SECTION, 1)
        body = before + (after[after.find("\n## ") :] if "\n## " in after else "")
    head, mark, tail = body.partition("\n## Measured by bench/starter_quality.py")
    card.write_text(head.rstrip() + f"\n\n{SECTION}\n\n{text}" + (mark + tail if mark else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12349, help="starter_quality uses its --seed + 4")
    parser.add_argument("--draw", type=int, default=60, help="Chinese requests to draw end to end (0: none)")
    parser.add_argument("--model-dir", type=Path, help="score the prompter in this folder (default: the zoo's)")
    parser.add_argument("--write-card", action="store_true", help="put the figures in the prompter's model card")
    args = parser.parse_args()
    torch.manual_seed(0)
    registry, folder = load_registry(), args.model_dir or CARD
    if args.model_dir is not None:
        if not (folder / "training_config.json").is_file():
            raise SystemExit(f"error: --model-dir {folder} holds no training_config.json; give a trained prompter.")
        entries = {**registry.entries, PROMPTER: replace(registry.get(PROMPTER), path=folder.resolve())}
        registry = replace(registry, entries=entries)
    text = table(ModelCache(registry), args.seed, args.cases, args.draw, folder)
    print(text)
    if args.write_card:
        write_card(text, folder)


if __name__ == "__main__":
    main()

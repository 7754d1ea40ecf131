"""Plain generation against verify-and-refine, side by side in one run, on fresh canonical prompts.

    python -m bench.verify_gain [--cases 60] [--verify 4] [--rounds 2] [--seed 777] [--stylize 40]
                                [--threads 1]

Every picture is scored by the starter world's scene parser against the prompt (every attribute
stated). Prints, for one- and two-object prompts: whole-scene accuracy and per-attribute accuracy
of plain and verified runs, the share of plain's misses that verify cuts, the time per request of
each (one process, plain and verified alternating prompt by prompt so both meet the same load),
and how much the candidates of one request differ (with the old seed-only candidates beside them).
Then stylize accuracy on pictures drawn by the independent renderer bench/spec_render.py. Prompts
come from --seed, which no trainer uses (they use 0..9).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

import torch

from bench.spec_render import describe, draw_scene, random_objects
from pipelines.models.candidates import diversity
from pipelines.tasks.generate import draw, generate, settings
from pipelines.tasks.stylize import stylize
from pipelines.tasks.verify import generate_verified
from worlds.shapes import SHAPES_WORLD
from worlds.shapes.scene_parser import compare, parse_image
from worlds.shapes.world import parse_sentence, random_scene, sentence, with_style
from zoo.cache import ModelCache
from zoo.registry import load_registry

MODEL = "starter/shapes-diffusion"


def run(cache, prompts, seed, verify, rounds=2):
    """Plain and verified, prompt by prompt in turn (so both see the same load on a shared machine):
    (plain pictures, verified pictures, verified generations, plain seconds, verified seconds) per request."""
    plain, verified, generations, seconds = [], [], [], [0.0, 0.0]
    for i, prompt in enumerate(prompts):
        started = time.perf_counter()
        plain.append(generate(cache, prompt, model_id=MODEL, seed=seed + i * 100).images[0])
        middle = time.perf_counter()
        g = generate_verified(cache, prompt, MODEL, seed + i * 100, verify, rounds)
        seconds[0] += middle - started
        seconds[1] += time.perf_counter() - middle
        verified.append(g.images[0])
        generations.append(g)
    return plain, verified, generations, seconds[0] / len(prompts), seconds[1] / len(prompts)


def candidate_diversity(generations, cache, prompts, seed, count) -> dict:
    """Diversity of the first round's candidates, and of the old seed-only candidates (same prompt, plain
    deterministic sampler, `count` seeds), averaged over requests."""
    read = lambda im: str(parse_image(im))  # noqa: E731
    now, before = defaultdict(list), defaultdict(list)
    entry = cache.registry.get(MODEL)
    for i, (g, prompt) in enumerate(zip(generations, prompts)):
        first = [p.image for p in g.pictures if p.parameters["seed"] in g.rounds[0].seeds]
        for k, v in diversity(first, read).items():
            now[k].append(v)
        old = draw(cache, entry, [prompt] * count, "", settings(entry), [seed + i * 100 + j for j in range(count)])[0]
        for k, v in diversity(old, read).items():
            before[k].append(v)
    mean = lambda d: {k: sum(v) / len(v) for k, v in d.items()}  # noqa: E731
    return {"candidates": mean(now), "seed-only candidates": mean(before)}


def stylize_accuracy(cache, n: int, seed: int) -> float:
    rng, right = random.Random(seed), []
    for i in range(n):
        background, style = rng.choice(["white", "black", "gray"]), rng.choice(["flat", "outline"])
        objects = random_objects(rng, 1 + i % 2)
        target = "outline" if style == "flat" else "flat"
        out = stylize(cache, draw_scene(background, style, objects), f"{target} style", MODEL, seed=seed + i).image
        wanted = with_style(parse_sentence(describe(background, style, objects)), target)
        right.append(compare(wanted, parse_image(out))["correct"])
    return sum(right) / len(right)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--verify", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--stylize", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: leave the other core to others)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = ModelCache(load_registry())
    rng = random.Random(args.seed)
    groups = {n: [sentence(random_scene(rng, n)) for _ in range(args.cases)] for n in (1, 2)}
    run(cache, groups[1][:2], args.seed, args.verify, args.rounds)  # warm up: load every model once
    print(
        f"{args.cases} fresh canonical prompts per row (seed {args.seed}); verify {args.verify} candidates, "
        f"up to {args.rounds} rounds; {args.threads} torch thread(s); scored by worlds/shapes/scene_parser.py\n"
    )
    print(f"| prompts | measure | plain | --verify {args.verify} |\n| --- | --- | --- | --- |")
    times, misses = {"plain": [], "verified": []}, {"plain": 0, "verified": 0}
    for n, prompts in groups.items():
        plain, verified, generations, t_plain, t_verified = run(cache, prompts, args.seed, args.verify, args.rounds)
        a, b = SHAPES_WORLD.fidelity(prompts, plain), SHAPES_WORLD.fidelity(prompts, verified)
        for key in a["attributes"]:
            print(f"| {n}-object | {key} | {100 * a['attributes'][key]:.1f} % | {100 * b['attributes'][key]:.1f} % |")
        whole = (a["scenes"]["all scenes right"], b["scenes"]["all scenes right"])
        print(f"| {n}-object | **scene entirely right** | {100 * whole[0]:.1f} % | {100 * whole[1]:.1f} % |")
        missed = (round((1 - whole[0]) * len(prompts)), round((1 - whole[1]) * len(prompts)))
        print(f"| {n}-object | misses | {missed[0]} | {missed[1]} |")
        misses["plain"] += missed[0]
        misses["verified"] += missed[1]
        times["plain"].append(t_plain)
        times["verified"].append(t_verified)
        d = candidate_diversity(generations, cache, prompts, args.seed, args.verify)
        for kind, values in d.items():
            print(
                f"| {n}-object | {kind}: pairs whose parsed scenes differ | | "
                f"{100 * values['pairs shown differently']:.1f} % |"
            )
            print(f"| {n}-object | {kind}: mean pixel difference (0-255) | | {values['mean pixel difference']:.2f} |")
    plain_s, verified_s = sum(times["plain"]) / 2, sum(times["verified"]) / 2
    cut = 1 - misses["verified"] / misses["plain"] if misses["plain"] else float("nan")
    print(f"| all | share of plain's misses cut | | {100 * cut:.0f} % ({misses['plain']} -> {misses['verified']}) |")
    print(f"| all | time per request | 1x ({plain_s:.3f} s) | {verified_s / plain_s:.2f}x ({verified_s:.3f} s) |")
    if args.stylize:
        acc = stylize_accuracy(cache, args.stylize, args.seed)
        print(
            f"\nstylize (style switched, objects kept) on {args.stylize} pictures drawn by bench/spec_render.py: "
            f"{100 * acc:.1f} %"
        )


if __name__ == "__main__":
    main()

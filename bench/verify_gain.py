"""Plain generation against verify-and-refine, side by side in one run, on fresh starter-world prompts.

    python -m bench.verify_gain [--cases 100] [--verify 4] [--rounds 2] [--seed 777]

Prints whole-scene accuracy for one- and two-object prompts, and the time per request of each
mode relative to plain generation of one picture.
"""
from __future__ import annotations

import argparse
import random
import time

from pipelines.text2image import generate
from pipelines.verify import generate_verified
from worlds.shapes.world import random_scene, sentence
from worlds.shapes import SHAPES_WORLD
from zoo.cache import ModelCache
from zoo.registry import load_registry

MODEL = "starter/shapes-diffusion"


def run(cache, prompts, seed, verify=None, rounds=2):
    images, started = [], time.perf_counter()
    for i, prompt in enumerate(prompts):
        if verify:
            images.append(generate_verified(cache, prompt, MODEL, seed + i * 100, verify, rounds).images[0])
        else:
            images.append(generate(cache, prompt, model_id=MODEL, seed=seed + i * 100).images[0])
    return images, (time.perf_counter() - started) / len(prompts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--verify", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=777)
    args = parser.parse_args()
    cache = ModelCache(load_registry())
    rng = random.Random(args.seed)
    groups = {n: [sentence(random_scene(rng, n)) for _ in range(args.cases)] for n in (1, 2)}
    run(cache, groups[1][:2], args.seed, args.verify, args.rounds)  # warm up: load every model once
    rows, times = {}, {"plain": [], "verified": []}
    for n, prompts in groups.items():
        plain, t_plain = run(cache, prompts, args.seed)
        verified, t_verified = run(cache, prompts, args.seed, args.verify, args.rounds)
        rows[n] = (SHAPES_WORLD.fidelity(prompts, plain)["scenes"]["all scenes right"],
                   SHAPES_WORLD.fidelity(prompts, verified)["scenes"]["all scenes right"])
        times["plain"].append(t_plain)
        times["verified"].append(t_verified)
    plain_s = sum(times["plain"]) / 2
    verified_s = sum(times["verified"]) / 2
    print(f"{args.cases} fresh prompts per row (seed {args.seed}); verify {args.verify} candidates, up to {args.rounds} rounds\n")
    print(f"| measure | plain | with --verify {args.verify} | target (verified) |")
    print("| --- | --- | --- | --- |")
    print(f"| one-object scenes entirely right | {100 * rows[1][0]:.1f} % | {100 * rows[1][1]:.1f} % | >= 97 % |")
    print(f"| two-object scenes entirely right | {100 * rows[2][0]:.1f} % | {100 * rows[2][1]:.1f} % | >= 90 % |")
    print(f"| time per request vs plain 1 picture | 1x ({plain_s:.3f} s) | {verified_s / plain_s:.2f}x ({verified_s:.3f} s) | <= 3x |")


if __name__ == "__main__":
    main()

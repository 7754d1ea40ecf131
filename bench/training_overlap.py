"""Which bench cases the starter diffusion model saw in training, and its score on the held-out split.

    python -m bench.training_overlap [--cases 200] [--seed 12345]

The diffusion trainer's UNet phase draws, at step i, the batch StarterWorld(seed).batch(i, unet_batch):
scenes from random.Random(seed * 1_000_003 + i). Replaying those draws (without rendering) from the
model's own training_config.json gives exactly the pictures it was trained on, so the overlap below is
counted, not estimated. A picture is a scene in reading order: a two-object scene drawn with its objects
named the other way round is the same picture.

The held-out split (worlds.shapes.world.held_out: every purple triangle, every small cross at the top)
was made after this model was trained, so its held-out scenes were in its training too: the held-out
figure here is not a measure of generalisation for this model, and it says so.
"""

from __future__ import annotations

import argparse
import json
import random
from itertools import product
from pathlib import Path

from worlds.shapes.world import (
    BACKGROUNDS,
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    STYLES,
    Obj,
    Scene,
    held_out,
    random_scene,
    reading_order,
    sentence,
    with_style,
)

DIFFUSION_FOLDER = Path(__file__).resolve().parent.parent / "zoo" / "starter" / "shapes-diffusion"


def diffusion_training_pictures(folder: Path = DIFFUSION_FOLDER) -> tuple[set[Scene], int, dict]:
    """Every picture (scene in reading order) the UNet phase drew, how many draws, and the config used."""
    config = json.loads((folder / "training_config.json").read_text())
    if config.get("data") != "starter world":
        raise ValueError(f"{folder} was trained on {config.get('data')}, not the starter world.")
    seed, steps, batch = config["seed"], config["unet_steps"], config["unet_batch"]
    _check_replay(seed, batch)
    seen = set()
    for step in range(steps):
        rng = random.Random(seed * 1_000_003 + step)
        seen.update(reading_order(random_scene(rng)) for _ in range(batch))
    return seen, steps * batch, config


def _check_replay(seed: int, batch: int) -> None:
    """The replay draws what the trainer's own batch function draws (checked on its first two batches)."""
    from training.datasets import StarterWorld

    for step in (0, 1):
        rng = random.Random(seed * 1_000_003 + step)
        replayed = [sentence(random_scene(rng)) for _ in range(batch)]
        if replayed != StarterWorld(seed).batch(step, batch)[1]:
            raise RuntimeError("training.datasets.StarterWorld no longer draws as this replay does; update it.")


def all_one_object_held_out() -> list[Scene]:
    """Every one-object scene of the held-out split (108 of the world's 1,920)."""
    every = (
        Scene(bg, style, (Obj(c, shape, size, pos),))
        for bg, style, c, shape, size, pos in product(BACKGROUNDS, STYLES, COLOURS, SHAPES, SIZES, POSITIONS)
    )
    return [s for s in every if held_out(s)]


def two_object_held_out(seed: int, n: int) -> list[Scene]:
    """n two-object scenes of the held-out split, drawn with `seed`."""
    rng, found = random.Random(seed), []
    while len(found) < n:
        scene = random_scene(rng, 2)
        if held_out(scene):
            found.append(scene)
    return found


def count_seen(scenes: list[Scene], seen: set[Scene]) -> int:
    return sum(reading_order(s) in seen for s in scenes)


def bench_overlap(seen: set[Scene], seed: int, n: int) -> dict[str, tuple[int, int]]:
    """(seen in training, cases) for the diffusion cases of bench/starter_quality.py (same --seed, --cases)."""
    from bench.starter_cases import scenes

    one, two, styl = scenes(seed, n, 1), scenes(seed + 1, n, 2), scenes(seed + 2, n // 2, None)
    targets = [with_style(s, "outline" if s.style == "flat" else "flat") for s in styl]
    return {
        "one-object scenes": (count_seen(one, seen), n),
        "two-object scenes": (count_seen(two, seen), n),
        "stylize targets": (count_seen(targets, seen), len(targets)),
    }


def overlap_text(seen: set[Scene], draws: int, config: dict, seed: int, n: int) -> str:
    ones = sum(len(s.objects) == 1 for s in seen)
    parts = ", ".join(f"{k} of {total} {what}" for what, (k, total) in bench_overlap(seen, seed, n).items())
    return (
        f"Seen in training (counted by replaying the trainer's draws, bench/training_overlap.py): the diffusion "
        f"model's UNet phase drew {draws:,} scenes ({config['unet_steps']} steps x {config['unet_batch']}, seed "
        f"{config['seed']}), {len(seen):,} different pictures, {ones:,} of the world's 1,920 one-object pictures. "
        f'Of the "fresh" bench cases (seed {seed}), {parts} are among them.'
    )


def held_out_text(cache, seen: set[Scene], seed: int, n: int) -> str:
    """The diffusion model on the held-out split, with how much of it it saw in training."""
    from bench.starter_cases import DIFFUSION, diffusion_accuracy
    from pipelines.core.settings import settings

    entry = cache.registry.get(DIFFUSION)
    steps = settings(entry)["steps"]
    one, two = all_one_object_held_out(), two_object_held_out(seed + 5, n)
    a, b = diffusion_accuracy(cache, entry, one, steps, seed), diffusion_accuracy(cache, entry, two, steps, seed)
    return (
        f"Held-out combinations (worlds.shapes.world.held_out: purple triangles, small crosses at the top), "
        f"{steps} steps: all {len(one)} one-object held-out scenes {100 * a:.1f} % right, {n} two-object "
        f"held-out scenes (seed {seed + 5}) {100 * b:.1f} % right. This model was trained before the split "
        f"existed: {count_seen(one, seen)} of the {len(one)} and {count_seen(two, seen)} of the {n} were in "
        f"its training batches, so this is not a measure of generalisation."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    seen, draws, config = diffusion_training_pictures()
    print(overlap_text(seen, draws, config, args.seed, args.cases))
    print()
    print(held_out_text(ModelCache(load_registry()), seen, args.seed, args.cases))


if __name__ == "__main__":
    main()

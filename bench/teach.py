"""python -m bench.teach: teach the starter model a shape it has never seen (a star, with its own word),
from at most 60 captioned pictures, and measure it.

1. Renders 60 captioned pictures with stars (bench/teach_shape.py, the world's manner), writes them as a
   raw imagefolder, and cleans it with `python -m training prepare`.
2. Trains `python -m training lora --text-encoder` on it and times it.
3. Draws 40 prompts with the new word in combinations no training picture has (every purple star, every
   small star at the top: held out), and 60 canonical prompts of the old world, with the adapter on
   and (the old ones) without; reads each picture back (the star parser of teach_shape.py; the world's
   own scene parser for the old prompts) and prints the shares right. The old prompts are scored three
   ways: the adapter forced on, without it, and as the studio draws them (an adapter that teaches new
   words goes on only for prompts naming one: pipelines/models/adapters.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench import teach_shape as star
from worlds.shapes.world import COLOURS, POSITIONS, Scene, random_scene, sentence

BASE = "starter/shapes-diffusion"


def held_out(scene: Scene) -> bool:
    return any(
        o.shape == star.WORD and (o.colour == "purple" or (o.size == "small" and o.position == "top"))
        for o in scene.objects
    )


def training_scenes(count: int, seed: int) -> list[Scene]:
    rng, found = random.Random(seed), {}
    colours, positions = list(COLOURS), list(POSITIONS)
    while len(found) < count:
        scene = star.star_scene(rng, colours, positions)
        if not held_out(scene):
            found[star.sentence(scene)] = scene
    return list(found.values())


def test_scenes(count: int, seed: int, seen: set[str]) -> list[Scene]:
    """Held-out star scenes: half with a purple star, half with a small star at the top."""
    rng, found = random.Random(seed), {}
    while len(found) < count:
        purple = len(found) % 2 == 0
        scene = star.star_scene(rng, ["purple"] if purple else list(COLOURS), list(POSITIONS) if purple else ["top"])
        if held_out(scene) and star.sentence(scene) not in seen:
            found.setdefault(star.sentence(scene), scene)
    return list(found.values())


def write_raw(folder: Path, scenes: list[Scene]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, scene in enumerate(scenes):
        Image.fromarray(star.render(scene)).save(folder / f"{i:03d}.png")
        rows.append({"file_name": f"{i:03d}.png", "text": star.sentence(scene)})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def train(work: Path, steps: int, extra: list[str]) -> float:
    command = [sys.executable, "-m", "training", "lora", "--base", BASE, "--data", str(work / "clean")]
    command += ["--out", str(work / "adapter"), "--steps", str(steps), "--text-encoder", *extra]
    started = time.time()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.time() - started


def draw(prompts: list[str], adapter: Path | None, seed: int) -> list[np.ndarray]:
    from zoo import adapters
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    cache = ModelCache(load_registry(), device="cpu")
    with cache.use(BASE) as pipe:
        with adapters.applied(pipe, adapter, "teach", 1.0) if adapter else _nothing():
            out = []
            for start in range(0, len(prompts), 32):
                chunk = prompts[start : start + 32]
                gens = [torch.Generator().manual_seed(seed + start + i) for i in range(len(chunk))]
                out += list(
                    pipe(
                        prompt=chunk, num_inference_steps=4, guidance_scale=1.0, generator=gens, output_type="np"
                    ).images
                )
    return [(p * 255).round().astype(np.uint8) for p in out]


def save_grid(pictures: list[np.ndarray], path: Path) -> None:
    """The pictures drawn for the new word, ten a row, to look at."""
    Image.fromarray(np.concatenate([np.concatenate(pictures[i : i + 10], 1) for i in range(0, 40, 10)], 0)).save(path)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.teach", description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/teach"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--pictures", type=int, default=60)
    parser.add_argument("--skip-training", action="store_true", help="measure the adapter already in WORK")
    parser.add_argument("--ray-workers", type=int, default=0)
    parser.add_argument("--lora-args", default="", help="more arguments for python -m training lora, as one string")
    args = parser.parse_args(argv)
    from pipelines.models.adapters import names_any
    from worlds.shapes.scene_parser import score
    from zoo import adapters

    torch.set_num_threads(1)  # as the trainer: on a shared 2-core machine one thread is the fastest

    train_scenes = training_scenes(args.pictures, seed=1)
    seen = {star.sentence(s) for s in train_scenes}
    tests = test_scenes(40, seed=2, seen=seen)
    seconds = None
    if not args.skip_training:
        write_raw(args.work / "raw", train_scenes)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training",
                "prepare",
                "--data",
                str(args.work / "raw"),
                "--out",
                str(args.work / "clean"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        extra = ["--batch", str(args.batch), "--lr", str(args.lr)]
        extra += ["--ray-workers", str(args.ray_workers)] if args.ray_workers else []
        extra += args.lora_args.split()
        seconds = train(args.work, args.steps, extra)
    adapter = args.work / "adapter"
    new = draw([star.sentence(s) for s in tests], adapter, seed=100)
    new_right = [star.right(p, s) for p, s in zip(new, tests)]
    rng = random.Random(3)
    old_prompts = [sentence(random_scene(rng)) for _ in range(60)]
    with_adapter = draw(old_prompts, adapter, seed=200)
    without = draw(old_prompts, None, seed=200)
    old_right = [score(p, t)["correct"] for p, t in zip(with_adapter, old_prompts)]
    base_right = [score(p, t)["correct"] for p, t in zip(without, old_prompts)]
    words = adapters.new_words(adapter)  # as the studio draws: the adapter goes on for prompts naming its words
    studio = [w if names_any(words, [t]) else b for w, b, t in zip(with_adapter, without, old_prompts)]
    studio_right = [score(p, t)["correct"] for p, t in zip(studio, old_prompts)]
    figures = {
        "training_pictures": len(train_scenes),
        "training_seconds": round(seconds, 1) if seconds else None,
        "new_word_right": float(np.mean(new_right)),
        "new_word_right_purple_star": float(np.mean(new_right[0::2])),
        "new_word_right_small_star_top": float(np.mean(new_right[1::2])),
        "new_words": words,
        "old_right_with_adapter_on": float(np.mean(old_right)),
        "old_right_as_the_studio_draws": float(np.mean(studio_right)),
        "old_right_without_adapter": float(np.mean(base_right)),
        "machine": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
    }
    save_grid(new, args.work / "new_word.png")
    print(json.dumps(figures, indent=2))
    print("targets: training <= 900 s, new word >= 0.80, old prompts >= 0.95")


if __name__ == "__main__":
    main()

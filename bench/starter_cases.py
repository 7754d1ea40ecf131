"""The starter diffusion model's bench cases, shared by bench/starter_quality.py and bench/training_overlap.py."""

from __future__ import annotations

import random

from pipelines.tasks.generate import draw, settings
from worlds.shapes import SHAPES_WORLD
from worlds.shapes.world import random_scene, sentence

DIFFUSION, CAPTIONER, PROMPTER = "starter/shapes-diffusion", "starter/shapes-captioner", "starter/shapes-prompter"


def scenes(seed: int, n: int, objects: int):
    rng = random.Random(seed)
    return [random_scene(rng, objects) for _ in range(n)]


def diffusion_accuracy(cache, entry, scene_list, steps: int, seed: int) -> float:
    run = settings(entry, steps)
    prompts = [sentence(s) for s in scene_list]
    images = []
    for start in range(0, len(prompts), 50):
        chunk = prompts[start : start + 50]
        images += draw(cache, entry, chunk, "", run, [seed + start + i for i in range(len(chunk))])[0]
    return SHAPES_WORLD.fidelity(prompts, images)["scenes"]["all scenes right"]

"""Picture-caption batches: the starter world drawn on the fly, or an imagefolder on disk."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from worlds.shapes.world import random_scene, render, sentence


class StarterWorld:
    """Random scenes of the starter world; batch i is the same for every run with the same seed."""

    def __init__(self, seed: int):
        self.seed = seed

    def batch(self, step: int, size: int) -> tuple[np.ndarray, list[str]]:
        rng = random.Random(self.seed * 1_000_003 + step)
        scenes = [random_scene(rng) for _ in range(size)]
        return np.stack([render(s) for s in scenes]), [sentence(s) for s in scenes]

    def captions(self) -> list[str]:
        rng = random.Random(self.seed)
        return [sentence(random_scene(rng)) for _ in range(5000)]


class ImageFolder:
    """The Hugging Face imagefolder layout: pictures plus metadata.jsonl rows of file_name and text.

    Augmentation is geometric only (random crops, and mirror flips when asked), never colour,
    because colours are named in the captions. Flips are off by default: they swap left and right.
    """

    def __init__(self, folder: Path, resolution: int, seed: int, crop: float = 0.0, flip: bool = False):
        rows = [json.loads(line) for line in (Path(folder) / "metadata.jsonl").read_text().splitlines() if line.strip()]
        if not rows:
            raise ValueError(f"{folder}/metadata.jsonl lists no pictures")
        self.items = [(Path(folder) / r["file_name"], r["text"]) for r in rows]
        self.resolution, self.seed, self.crop, self.flip = resolution, seed, crop, flip
        self._images = {}

    def _load(self, path: Path) -> Image.Image:
        if path not in self._images:
            self._images[path] = Image.open(path).convert("RGB")
        return self._images[path]

    def batch(self, step: int, size: int) -> tuple[np.ndarray, list[str]]:
        rng = random.Random(self.seed * 1_000_003 + step)
        pictures, texts = [], []
        for path, text in rng.choices(self.items, k=size):
            image = self._load(path)
            if self.crop:
                w, h = image.size
                scale = rng.uniform(1 - self.crop, 1.0)
                cw, ch = int(w * scale), int(h * scale)
                x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
                image = image.crop((x, y, x + cw, y + ch))
            image = image.resize((self.resolution, self.resolution), Image.BICUBIC)
            if self.flip and rng.random() < 0.5:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)
            pictures.append(np.asarray(image))
            texts.append(text)
        return np.stack(pictures), texts

    def captions(self) -> list[str]:
        return [t for _, t in self.items]


def to_unit_range(pictures: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1], as diffusers' VAEs take."""
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1.0

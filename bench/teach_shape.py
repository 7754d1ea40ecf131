"""A shape the starter world does not have, for bench/teach.py: its own renderer, sentences and parser.

The star is drawn in the world's manner (shared/STARTER_WORLD.md): inside the same bounding boxes,
at the same sizes and positions, in the same colours, flat or as a 3-pixel inner stroke. It is a
five-pointed star, one point up, whose points touch the box on all four sides.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from functools import cache

import numpy as np

from worlds.shapes import scene_parser as parser
from worlds.shapes.world import (
    BACKGROUNDS,
    CANVAS,
    COLOURS,
    OPPOSITE,
    POSITIONS,
    SHAPES,
    SIZES,
    STROKE,
    WHERE,
    Obj,
    Scene,
    shape_mask,
)

WORD = "star"
INNER = 0.5  # inner radius over outer: a fat star, still a star at 16 pixels


def _star_polygon(side: int, cx: float, cy: float) -> np.ndarray:
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, 1.0, INNER)
    points = np.stack([radii * np.cos(angles), -radii * np.sin(angles)], 1)
    low, high = points.min(0), points.max(0)
    points = (points - low) / (high - low)  # touches the unit box on every side
    return points * side + np.array([cx - side / 2, cy - side / 2])


def _inside_polygon(polygon: np.ndarray) -> np.ndarray:
    """Pixels whose centres lie inside the polygon (even-odd rule)."""
    ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float64) + 0.5
    inside = np.zeros((CANVAS, CANVAS), bool)
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (y0 > ys) != (y1 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < at)
    return inside


def _stroke(mask: np.ndarray) -> np.ndarray:
    disc = [
        (dx, dy) for dx in range(-STROKE, STROKE + 1) for dy in range(-STROKE, STROKE + 1) if dx * dx + dy * dy <= 9
    ]
    padded = np.pad(mask, STROKE, constant_values=False)
    interior = np.ones_like(mask)
    for dx, dy in disc:
        interior &= padded[STROKE + dy : STROKE + dy + CANVAS, STROKE + dx : STROKE + dx + CANVAS]
    return mask & ~interior


@cache
def mask(shape: str, size: str, position: str, style: str) -> np.ndarray:
    if shape != WORD:
        return shape_mask(shape, size, position, style)
    cx, cy = POSITIONS[position]
    filled = _inside_polygon(_star_polygon(SIZES[size], cx, cy))
    return _stroke(filled) if style == "outline" else filled


def render(scene: Scene) -> np.ndarray:
    image = np.empty((CANVAS, CANVAS, 3), np.uint8)
    image[:] = BACKGROUNDS[scene.background]
    for o in scene.objects:
        image[mask(o.shape, o.size, o.position, scene.style)] = COLOURS[o.colour]
    return image


def sentence(scene: Scene) -> str:
    objects = " and ".join(f"a {o.size} {o.colour} {o.shape} {WHERE[o.position]}" for o in scene.objects)
    return f"{objects} on a {scene.background} background, {scene.style} style"


def star_scene(rng: random.Random, colours: list[str], positions: list[str]) -> Scene:
    """A scene with a star: alone, or beside one of the world's shapes (either named first)."""
    bg, style = rng.choice(list(BACKGROUNDS)), rng.choice(("flat", "outline"))
    star = Obj(rng.choice(colours), WORD, rng.choice(list(SIZES)), rng.choice(positions))
    if star.position == "center" or rng.random() < 0.5:
        return Scene(bg, style, (star,))
    other = Obj(
        rng.choice([c for c in COLOURS if c != star.colour]),
        rng.choice(SHAPES),
        rng.choice(list(SIZES)),
        OPPOSITE[star.position],
    )
    return Scene(bg, style, (star, other) if rng.random() < 0.5 else (other, star))


# ------------------------------------------------------------------ reading pictures back


@cache
def _templates():
    keys, masks = [], []
    for shape, size, position in itertools.product((*SHAPES, WORD), SIZES, POSITIONS):
        m = mask(shape, size, position, "flat")
        for dy, dx in itertools.product((-1, 0, 1), repeat=2):
            keys.append((shape, size, position))
            masks.append(np.roll(m, (dy, dx), axis=(0, 1)))
    stacked = np.stack(masks).reshape(len(masks), -1).astype(np.float32)
    return keys, stacked, stacked.sum(1)


def _best(filled: np.ndarray) -> tuple[str, str, str]:
    keys, masks, areas = _templates()
    flat = filled.reshape(-1).astype(np.float32)
    inter = masks @ flat
    return keys[int(np.argmax(inter / (areas + flat.sum() - inter)))]


def read(image: np.ndarray) -> Scene:
    """The scene a picture shows, with stars: the world parser's colour labels and regions, matched
    against the world's shapes and the star."""
    pixels = np.asarray(image)[..., :3].astype(np.float32)
    background, labels, distance = parser._label(parser._median3(pixels))
    unfiltered = parser._label(pixels)[1]
    found = []
    for region in parser.components(labels >= 0):
        if region.sum() < parser.MIN_OBJECT_PIXELS:
            continue
        colour = parser.OBJECT_NAMES[int(distance[region.reshape(-1)].sum(0).argmin())]
        filled = parser.closed_region(region)
        shape, size, position = _best(filled)
        style = parser.style_of(parser._erode(filled) & (unfiltered < 0), filled)
        found.append((Obj(colour, shape, size, position), style))
    styles = {s for _, s in found}
    style = styles.pop() if len(styles) == 1 else "mixed" if found else "flat"
    return Scene(background, style, tuple(o for o, _ in found))


def right(image: np.ndarray, wanted: Scene) -> bool:
    """Every attribute as asked and nothing else there (either object order)."""
    seen = read(image)
    if seen.background != wanted.background or seen.style != wanted.style:
        return False
    return sorted(map(repr, seen.objects)) == sorted(map(repr, wanted.objects))


def with_star(scene: Scene, index: int) -> Scene:
    objects = list(scene.objects)
    objects[index] = replace(objects[index], shape=WORD)
    return replace(scene, objects=tuple(objects))

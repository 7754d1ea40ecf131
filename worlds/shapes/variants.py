"""Renderings that vary within the contract of worlds/shapes/CONTRACT.md, for training readers of pictures.

`render(scene)` in world.py draws the one exact picture; another faithful implementation differs
from it by rounding. `render_variant(scene, rng)` draws the scene the way such implementations
might: geometry moved by up to one pixel, with and without antialiasing, a stroke of 2.4 to 2.9
pixels from pixel centres (3 pixels wide on straight edges) with Euclidean or city-block inner
corners, colours jittered while each stays nearest to its own entry of the contract's tables, JPEG
at quality 70 or more, and mild noise. The shapes are drawn from signed distances, not from
world.py's masks.
"""

from __future__ import annotations

import io
import random

import numpy as np

from worlds.shapes.world import BACKGROUNDS, CANVAS, COLOURS, POSITIONS, SIZES, STROKE, Scene

TABLE_NAMES = list(COLOURS) + list(BACKGROUNDS)
TABLE = np.array([COLOURS.get(n) or BACKGROUNDS[n] for n in TABLE_NAMES], np.float32)
COLOUR_JITTER = 24  # the most any channel moves; a jittered colour must stay nearest its own name


def inner_distance(
    shape: str, side: float, cx: float, cy: float, xs: np.ndarray, ys: np.ndarray, city_block: bool = False
) -> np.ndarray:
    """How far each point lies inside the shape from its boundary (<= 0 outside); `city_block` measures the
    distance to the cross's inner corners along the axes, as an erosion by 4-neighbours would."""
    half = side / 2
    dx, dy = xs - cx, ys - cy
    box = np.minimum(half - np.abs(dx), half - np.abs(dy))
    if shape == "square":
        return box
    if shape == "circle":
        return half - np.hypot(dx, dy)
    if shape == "triangle":  # apex (cx, cy - half), base along y = cy + half
        norm = np.sqrt(5.0)  # edges 2|dx| = dy + half, i.e. 2|dx| - dy - half = 0
        slant = (dy + half - 2 * np.abs(dx)) / norm
        return np.minimum(half - dy, slant)
    if shape == "cross":
        arm = side / 6
        ax, ay = np.abs(dx), np.abs(dy)
        gap_x, gap_y = np.clip(arm - ax, 0, None), np.clip(arm - ay, 0, None)
        corner = gap_x + gap_y if city_block else np.hypot(gap_x, gap_y)  # to the cut-out corners
        return np.where((ax <= arm) | (ay <= arm), np.minimum(box, corner), -1.0)
    raise ValueError(shape)


def coverage(
    shape: str, side: float, cx: float, cy: float, style: str, stroke: float, supersample: int, city_block: bool = False
) -> np.ndarray:
    """Per pixel, the share of its area the object covers (0 or 1 without antialiasing)."""
    offsets = (np.arange(supersample) + 0.5) / supersample
    grid = (np.arange(CANVAS)[:, None] + offsets[None, :]).reshape(-1)
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    d = inner_distance(shape, side, cx, cy, xs, ys, city_block)
    inside = (d > 0) & ((d <= stroke) if style == "outline" else True)
    return inside.reshape(CANVAS, supersample, CANVAS, supersample).mean(axis=(1, 3))


def jitter_colour(name: str, rng: random.Random) -> np.ndarray:
    """The colour moved by up to COLOUR_JITTER per channel, still nearest to `name` in the tables."""
    base = np.array(COLOURS.get(name) or BACKGROUNDS[name], np.float32)
    for _ in range(20):
        colour = np.clip(base + [rng.uniform(-COLOUR_JITTER, COLOUR_JITTER) for _ in range(3)], 0, 255)
        if TABLE_NAMES[int(((TABLE - colour) ** 2).sum(1).argmin())] == name:
            return colour
    return base


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def render_variant(scene: Scene, rng: random.Random) -> np.ndarray:
    """One faithful but not pixel-identical picture of the scene, as a 64 x 64 x 3 uint8 array."""
    supersample = rng.choice((1, 1, 2, 4))  # antialiasing off half the time
    stroke = rng.uniform(STROKE - 0.6, STROKE - 0.1)  # measured from pixel centres to the boundary
    city_block = rng.random() < 0.5
    image = np.empty((CANVAS, CANVAS, 3), np.float32)
    image[:] = jitter_colour(scene.background, rng)
    for o in scene.objects:
        cx, cy = POSITIONS[o.position]
        side = SIZES[o.size] + rng.uniform(-1, 1)
        alpha = coverage(
            o.shape,
            side,
            cx + rng.uniform(-1, 1),
            cy + rng.uniform(-1, 1),
            scene.style,
            stroke,
            supersample,
            city_block,
        )[..., None]
        image = image * (1 - alpha) + alpha * jitter_colour(o.colour, rng)
    if rng.random() < 0.5:
        image += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(1, 6), image.shape)
    picture = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return jpeg(picture, rng.randint(70, 95)) if rng.random() < 0.3 else picture

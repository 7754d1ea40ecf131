"""A second, independent renderer of worlds/shapes/CONTRACT.md, written from the contract alone with
PIL.ImageDraw (it shares no code with worlds/shapes/world.py or worlds/shapes/variants.py), for
checking that readers of pictures learned the contract and not one renderer's pixels.

    draw_scene(background, style, [(colour, shape, size, position), ...], antialias=False) -> PIL image

Outlines are eroded by steps that alternate 4- and 8-neighbours (world.py uses a disc); with
antialias the scene is drawn at 4x and box-averaged, so edges blend with the background.
"""

from __future__ import annotations

import random

from PIL import Image, ImageChops, ImageDraw

BG = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}
INK = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 210, 40),
    "green": (40, 170, 70),
    "cyan": (40, 200, 210),
    "blue": (40, 80, 220),
    "purple": (140, 60, 200),
    "pink": (240, 120, 180),
}
SIDE = {"small": 16, "large": 28}
CENTRE = {"center": (32, 32), "left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48)}


def _shape_mask(shape: str, side: int, cx: int, cy: int, scale: int = 1) -> Image.Image:
    """The filled shape as a 1-bit mask on a canvas `scale` times 64; the box spans [cx - s/2, cx + s/2)."""
    mask = Image.new("1", (64 * scale, 64 * scale), 0)
    d = ImageDraw.Draw(mask)
    side, cx, cy = side * scale, cx * scale, cy * scale
    x0, y0 = cx - side // 2, cy - side // 2
    x1, y1 = x0 + side - 1, y0 + side - 1  # PIL boxes include their last pixel
    if shape == "square":
        d.rectangle((x0, y0, x1, y1), fill=1)
    elif shape == "circle":
        d.ellipse((x0, y0, x1, y1), fill=1)
    elif shape == "triangle":
        d.polygon([(cx - 0.5, y0), (x1, y1), (x0, y1)], fill=1)
    elif shape == "cross":
        half_arm = round(side / 6)  # each arm a third of the side wide, centred on the box's centre lines
        d.rectangle((cx - half_arm, y0, cx + half_arm - 1, y1), fill=1)
        d.rectangle((x0, cy - half_arm, x1, cy + half_arm - 1), fill=1)
    else:
        raise ValueError(shape)
    return mask


def _outline(mask: Image.Image, width: int = 3) -> Image.Image:
    """The pixels of the mask within `width` pixels of its edge: the mask minus its erosion, by steps
    that alternate 4- and 8-neighbour erosion (an octagon, near a disc)."""
    inner = mask
    for step in range(width):
        offsets = [(1, 0), (-1, 0), (0, 1), (0, -1)] + ([(1, 1), (1, -1), (-1, 1), (-1, -1)] if step % 2 else [])
        shifted = [ImageChops.offset(inner, dx, dy) for dx, dy in offsets]
        for s in shifted:
            inner = ImageChops.logical_and(inner, s)
    return ImageChops.subtract(mask.convert("L"), inner.convert("L")).point(lambda v: 255 if v else 0).convert("1")


def draw_scene(
    background: str, style: str, objects: list[tuple[str, str, str, str]], antialias: bool = False
) -> Image.Image:
    """The scene; `antialias` draws it four times larger and averages each 4 x 4 block into a pixel."""
    scale = 4 if antialias else 1
    image = Image.new("RGB", (64, 64), BG[background])
    for colour, shape, size, position in objects:
        cx, cy = CENTRE[position]
        mask = _shape_mask(shape, SIDE[size], cx, cy, scale)
        if style == "outline":
            mask = _outline(mask, 3 * scale)
        image.paste(INK[colour], (0, 0), mask.convert("L").resize((64, 64), Image.BOX) if antialias else mask)
    return image


def random_objects(rng: random.Random, count: int) -> list[tuple[str, str, str, str]]:
    """One or two objects as the contract allows (two: different colours, opposite sides)."""
    colours = rng.sample(sorted(INK), count)
    if count == 1:
        places = [rng.choice(sorted(CENTRE))]
    else:
        first = rng.choice(["left", "right", "top", "bottom"])
        places = [first, {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}[first]]
    return [
        (c, rng.choice(["circle", "square", "triangle", "cross"]), rng.choice(["small", "large"]), p)
        for c, p in zip(colours, places)
    ]


def describe(background: str, style: str, objects) -> str:
    """The canonical sentence of the contract for these objects, in the order given."""
    where = {
        "center": "in the center",
        "left": "on the left",
        "right": "on the right",
        "top": "at the top",
        "bottom": "at the bottom",
    }
    body = " and ".join(f"a {size} {colour} {shape} {where[pos]}" for colour, shape, size, pos in objects)
    return f"{body} on a {background} background, {style} style"

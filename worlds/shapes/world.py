"""The starter world of worlds/shapes/CONTRACT.md: scenes, their canonical sentences, and pictures.

A scene is plain data; `sentence(scene)` and `parse_sentence(text)` are exact inverses, and
`render(scene)` draws the one picture the sentence describes.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

CANVAS = 64
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}
COLOURS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 210, 40),
    "green": (40, 170, 70),
    "cyan": (40, 200, 210),
    "blue": (40, 80, 220),
    "purple": (140, 60, 200),
    "pink": (240, 120, 180),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = {"small": 16, "large": 28}
POSITIONS = {"center": (32, 32), "left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48)}
STYLES = ("flat", "outline")
WHERE = {
    "center": "in the center",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}
OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
STROKE = 3


@dataclass(frozen=True)
class Obj:
    colour: str
    shape: str
    size: str
    position: str


@dataclass(frozen=True)
class Scene:
    background: str
    style: str
    objects: tuple[Obj, ...]

    def validate(self) -> Scene:
        if self.background not in BACKGROUNDS or self.style not in STYLES:
            raise ValueError(f"unknown background or style in {self}")
        if len(self.objects) not in (1, 2):
            raise ValueError("a scene holds one or two objects")
        for o in self.objects:
            if o.colour not in COLOURS or o.shape not in SHAPES or o.size not in SIZES or o.position not in POSITIONS:
                raise ValueError(f"unknown attribute in {o}")
        if len(self.objects) == 2:
            a, b = self.objects
            if a.colour == b.colour:
                raise ValueError("the two objects must have different colours")
            if OPPOSITE.get(a.position) != b.position:
                raise ValueError("the two objects must sit on opposite sides")
        return self


# ---------------------------------------------------------------- sentences


def object_phrase(o: Obj) -> str:
    return f"a {o.size} {o.colour} {o.shape} {WHERE[o.position]}"


def sentence(scene: Scene) -> str:
    objects = " and ".join(object_phrase(o) for o in scene.objects)
    return f"{objects} on a {scene.background} background, {scene.style} style"


_OBJ = (
    rf"a ({'|'.join(SIZES)}) ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)}) "
    rf"({'|'.join(WHERE.values())})"
)
_SENTENCE = re.compile(
    rf"^{_OBJ}(?: and {_OBJ})? on a ({'|'.join(BACKGROUNDS)}) background, ({'|'.join(STYLES)}) style$"
)
_WHERE_TO_POSITION = {v: k for k, v in WHERE.items()}


def parse_sentence(text: str) -> Scene | None:
    """The scene a canonical sentence describes, or None when the text is not canonical."""
    m = _SENTENCE.match(" ".join(text.strip().lower().split()))
    if not m:
        return None
    g = m.groups()
    objects = [Obj(g[1], g[2], g[0], _WHERE_TO_POSITION[g[3]])]
    if g[4]:
        objects.append(Obj(g[5], g[6], g[4], _WHERE_TO_POSITION[g[7]]))
    try:
        return Scene(g[8], g[9], tuple(objects)).validate()
    except ValueError:
        return None


# ---------------------------------------------------------------- scenes


def all_one_object_scenes() -> list[Scene]:
    return [
        Scene(bg, st, (Obj(c, sh, sz, pos),))
        for bg, st, c, sh, sz, pos in itertools.product(BACKGROUNDS, STYLES, COLOURS, SHAPES, SIZES, POSITIONS)
    ]


def random_scene(rng: random.Random, n_objects: int | None = None) -> Scene:
    n = n_objects or rng.choice((1, 2))
    bg, style = rng.choice(list(BACKGROUNDS)), rng.choice(STYLES)
    if n == 1:
        return Scene(bg, style, (_random_obj(rng, rng.choice(list(POSITIONS))),))
    first = rng.choice(list(OPPOSITE))
    a = _random_obj(rng, first)
    b = _random_obj(rng, OPPOSITE[first], exclude_colour=a.colour)
    return Scene(bg, style, (a, b))


def held_out(scene: Scene) -> bool:
    """The attribute combinations no trainer sees from now on, kept to measure generalisation:
    every purple triangle, and every small cross at the top."""
    return any(
        (o.colour == "purple" and o.shape == "triangle")
        or (o.shape == "cross" and o.size == "small" and o.position == "top")
        for o in scene.objects
    )


def training_scene(rng: random.Random, n_objects: int | None = None) -> Scene:
    """A random scene outside the held-out split."""
    while True:
        scene = random_scene(rng, n_objects)
        if not held_out(scene):
            return scene


def _random_obj(rng: random.Random, position: str, exclude_colour: str | None = None) -> Obj:
    colour = rng.choice([c for c in COLOURS if c != exclude_colour])
    return Obj(colour, rng.choice(SHAPES), rng.choice(list(SIZES)), position)


def reading_order(scene: Scene) -> Scene:
    """The scene with its objects named left before right and top before bottom.

    A two-object picture has two canonical sentences (either object may be named first); a
    describer that always answers in reading order says the same sentence for the same picture.
    """
    order = list(POSITIONS)
    return replace(scene, objects=tuple(sorted(scene.objects, key=lambda o: order.index(o.position))))


def with_style(scene: Scene, style: str) -> Scene:
    return replace(scene, style=style)


# ---------------------------------------------------------------- pictures


def _inside(shape: str, side: int, cx: float, cy: float) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside the shape."""
    ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float64) + 0.5
    half = side / 2
    in_box = (xs >= cx - half) & (xs < cx + half) & (ys >= cy - half) & (ys < cy + half)
    if shape == "square":
        return in_box
    if shape == "circle":
        return ((xs - cx) / half) ** 2 + ((ys - cy) / half) ** 2 <= 1.0
    if shape == "triangle":
        top = cy - half
        return in_box & (np.abs(xs - cx) <= (ys - top) / 2)
    if shape == "cross":
        arm = side / 6  # each arm is a third of the side wide
        return in_box & ((np.abs(xs - cx) <= arm) | (np.abs(ys - cy) <= arm))
    raise ValueError(shape)


_DISC = [
    (dx, dy) for dx in range(-STROKE, STROKE + 1) for dy in range(-STROKE, STROKE + 1) if dx * dx + dy * dy <= STROKE**2
]


def _stroke(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask within STROKE pixels (centre to centre) of a pixel outside it."""
    padded = np.pad(mask, STROKE, constant_values=False)
    interior = np.ones_like(mask)
    for dx, dy in _DISC:
        interior &= padded[STROKE + dy : STROKE + dy + CANVAS, STROKE + dx : STROKE + dx + CANVAS]
    return mask & ~interior


@cache
def shape_mask(shape: str, size: str, position: str, style: str) -> np.ndarray:
    cx, cy = POSITIONS[position]
    mask = _inside(shape, SIZES[size], cx, cy)
    mask = _stroke(mask) if style == "outline" else mask
    mask.flags.writeable = False
    return mask


def render(scene: Scene) -> np.ndarray:
    """The scene's picture as a 64 x 64 x 3 uint8 array."""
    image = np.empty((CANVAS, CANVAS, 3), np.uint8)
    image[:] = BACKGROUNDS[scene.background]
    for o in scene.objects:
        image[shape_mask(o.shape, o.size, o.position, scene.style)] = COLOURS[o.colour]
    return image


def render_pil(scene: Scene):
    from PIL import Image

    return Image.fromarray(render(scene), "RGB")

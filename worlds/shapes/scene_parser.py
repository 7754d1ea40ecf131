"""Reads a picture back into a scene and scores it against the sentence that asked for it.

Every pixel takes the nearest colour of the world's two tables; the background is the most
common one. Each connected region of object pixels big enough is one object, of the colour its
pixels vote for; the region with any enclosed holes filled is matched against the world's filled
masks (every shape, size and position, each also moved by up to one pixel) by intersection over
union, and its style is outline when the region encloses a hole of background. Matching whole
regions rather than measuring edges keeps the reading stable under blur, JPEG, noise,
antialiasing and renderers that round differently.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from worlds.shapes.world import (
    BACKGROUNDS,
    CANVAS,
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    parse_sentence,
    shape_mask,
)

OBJECT_NAMES = list(COLOURS)
OBJECT_TABLE = np.array([COLOURS[n] for n in OBJECT_NAMES], np.float32)
MIN_OBJECT_PIXELS = 24
ATTRIBUTES = ("colour", "shape", "size", "position", "style")


def _as_array(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        image = np.asarray(image.convert("RGB").resize((CANVAS, CANVAS)))
    return image[..., :3].astype(np.float32)


def _median3(image: np.ndarray) -> np.ndarray:
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    stack = [padded[dy : dy + CANVAS, dx : dx + CANVAS] for dy in range(3) for dx in range(3)]
    return np.partition(np.stack(stack), 4, axis=0)[4]  # the 5th of 9: the median


@lru_cache(maxsize=1)
def _templates():
    """The world's filled masks, each also moved by up to a pixel: keys (shape, size, position), masks, areas."""
    keys, masks = [], []
    for shape, size, position in itertools.product(SHAPES, SIZES, POSITIONS):
        mask = shape_mask(shape, size, position, "flat")
        for dy, dx in itertools.product((-1, 0, 1), repeat=2):
            keys.append((shape, size, position))
            masks.append(np.roll(mask, (dy, dx), axis=(0, 1)))
    masks = np.stack(masks).reshape(len(masks), -1).astype(np.float32)
    return keys, masks, masks.sum(1)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every region of other pixels that does not reach the border (4-connected) filled in."""
    free = ~mask
    outside = np.zeros_like(mask)
    outside[0], outside[-1], outside[:, 0], outside[:, -1] = free[0], free[-1], free[:, 0], free[:, -1]
    while True:
        grown = outside.copy()
        grown[1:] |= outside[:-1]
        grown[:-1] |= outside[1:]
        grown[:, 1:] |= outside[:, :-1]
        grown[:, :-1] |= outside[:, 1:]
        grown &= free
        if (grown == outside).all():
            return ~outside
        outside = grown


def _dilate(mask: np.ndarray, outside: bool = False) -> np.ndarray:
    """Dilation by a 3 x 3 square; `outside` is what lies beyond the canvas."""
    padded = np.pad(mask, 1, constant_values=outside)
    return np.any([padded[dy : dy + CANVAS, dx : dx + CANVAS] for dy in range(3) for dx in range(3)], axis=0)


def _erode(mask: np.ndarray) -> np.ndarray:
    """Erosion by a 3 x 3 square, with nothing of the mask beyond the canvas."""
    return ~_dilate(~mask, outside=True)


def closed_region(mask: np.ndarray) -> np.ndarray:
    """The object's region: the mask with gaps of up to two pixels in its stroke bridged (closing by a
    3 x 3 square) and every enclosed hole filled."""
    return _erode(fill_holes(_dilate(mask)))


def style_of(hole: np.ndarray, filled: np.ndarray) -> str:
    """outline when the background pixels the object encloses (`hole`) are at least 3 and 2 % of its area."""
    hole = int(hole.sum())
    return "outline" if hole >= max(3, 0.02 * filled.sum()) else "flat"


def _label(pixels: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """The background's name; per pixel the index of its object colour or -1 for background;
    and per pixel and object colour, how far the pixel lies from a blend of the two.

    A pixel is read as a blend of the background and one object colour (blur and JPEG make such
    blends along every edge), and belongs to that object where the blend is at least half of it.
    """
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    bg_names = list(BACKGROUNDS)
    bg_table = np.array([BACKGROUNDS[n] for n in bg_names], np.float32)
    votes = np.argmin(((border[:, None, :] - bg_table) ** 2).sum(-1), axis=1)
    background = bg_names[int(np.bincount(votes, minlength=len(bg_names)).argmax())]
    bg = np.array(BACKGROUNDS[background], np.float32)
    towards = OBJECT_TABLE - bg  # (colours, 3)
    offset = pixels.reshape(-1, 1, 3) - bg  # (pixels, 1, 3)
    t = np.clip((offset * towards).sum(-1) / (towards**2).sum(-1), 0, 1)  # (pixels, colours)
    distance = ((offset - t[..., None] * towards) ** 2).sum(-1)
    nearest = distance.argmin(1)
    blend = t[np.arange(len(nearest)), nearest]
    return background, np.where(blend >= 0.5, nearest, -1).reshape(CANVAS, CANVAS), distance


def _best_template(mask: np.ndarray) -> tuple[str, str, str]:
    """(shape, size, position) of the world's filled mask that overlaps the filled `mask` best."""
    keys, masks, areas = _templates()
    mask = mask.astype(np.float32)
    inter = masks @ mask
    return keys[int(np.argmax(inter / (areas + mask.sum() - inter)))]


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The 8-connected regions of a boolean mask, largest first."""
    seen = np.zeros_like(mask)
    found = []
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        region, stack = np.zeros_like(mask), [(y, x)]
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            region[cy, cx] = True
            for ny in range(max(cy - 1, 0), min(cy + 2, CANVAS)):
                for nx in range(max(cx - 1, 0), min(cx + 2, CANVAS)):
                    if mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
        found.append(region)
    return sorted(found, key=lambda r: -int(r.sum()))


def object_regions(labels: np.ndarray) -> list[np.ndarray]:
    """One region per object: the connected regions of object pixels (whatever colour each pixel reads
    as, since blends along edges read as neighbouring colours), each fragment too small to be an object
    joined to a region within two pixels, and regions that fit the same place merged."""
    found = components(labels >= 0)
    regions = [r for r in found if r.sum() >= MIN_OBJECT_PIXELS]
    for fragment in found[len(regions) :]:
        near = [r for r in regions if (_dilate(_dilate(r)) & fragment).any()]
        if near:
            near[0] |= fragment
    by_position: dict[str, np.ndarray] = {}
    for region in regions:
        position = _best_template(closed_region(region).reshape(-1))[2]
        by_position[position] = by_position[position] | region if position in by_position else region
    return list(by_position.values())


_RECENT: dict[bytes, Scene] = {}  # the last pictures read: verify reads its best candidate twice


def parse_image(image) -> Scene:
    """The scene a picture shows (objects ordered left/top first, as the parser cannot know the request)."""
    pixels = _as_array(image)
    key = pixels.tobytes()
    if key not in _RECENT:
        if len(_RECENT) >= 32:
            _RECENT.pop(next(iter(_RECENT)))
        _RECENT[key] = _parse(pixels)
    return _RECENT[key]


def _parse(pixels: np.ndarray) -> Scene:
    background, labels, distance = _label(_median3(pixels))
    unfiltered = _label(pixels)[1]  # holes of two pixels (a small outlined cross) do not survive the median
    objects, styles = [], []
    for region in object_regions(labels):
        colour = OBJECT_NAMES[int(distance[region.reshape(-1)].sum(0).argmin())]  # the whole region votes
        filled = closed_region(region)
        shape, size, position = _best_template(filled.reshape(-1))
        objects.append(Obj(colour, shape, size, position))
        styles.append(style_of(_erode(filled) & (unfiltered < 0), filled))  # background inside, off its rim
    order = list(POSITIONS)
    ranked = sorted(zip(objects, styles), key=lambda pair: order.index(pair[0].position))
    seen_styles = {s for _, s in ranked}
    style = seen_styles.pop() if len(seen_styles) == 1 else "mixed" if ranked else "flat"
    return Scene(background, style, tuple(o for o, _ in ranked))


def score(image, text: str) -> dict:
    """Attribute-by-attribute agreement between a picture and the canonical sentence that asked for it.

    Returns {'correct': bool, 'attributes': {name: bool}, 'seen': Scene}; 'correct' needs every
    attribute right and no extra object.
    """
    wanted = parse_sentence(text)
    if wanted is None:
        raise ValueError(f"not a canonical sentence: {text!r}")
    seen = parse_image(image)
    return compare(wanted, seen)


def compare(wanted: Scene, seen: Scene) -> dict:
    best = None
    for perm in itertools.permutations(seen.objects, min(len(seen.objects), len(wanted.objects))):
        attrs = {"background": wanted.background == seen.background}
        for i, want in enumerate(wanted.objects, 1):
            got = perm[i - 1] if i - 1 < len(perm) else None
            for a in ATTRIBUTES:
                if a == "style":
                    attrs[f"object{i}.style"] = got is not None and seen.style == wanted.style
                else:
                    attrs[f"object{i}.{a}"] = got is not None and getattr(got, a) == getattr(want, a)
        if best is None or sum(attrs.values()) > sum(best.values()):
            best = attrs
    if best is None:  # nothing seen at all
        best = {"background": wanted.background == seen.background} | {
            f"object{i}.{a}": False for i in range(1, len(wanted.objects) + 1) for a in ATTRIBUTES
        }
    extra = len(seen.objects) != len(wanted.objects)
    return {"correct": all(best.values()) and not extra, "attributes": best, "extra_objects": extra, "seen": seen}

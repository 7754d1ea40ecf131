"""Reads a picture back into a scene and scores it against the sentence that asked for it.

Every pixel takes the nearest colour of the world's two tables; the background is the most
common one, and each object colour with enough pixels is matched against the world's own
masks (every shape, size, position and style) by intersection over union. Matching whole
masks rather than measuring edges keeps the reading stable under blur, JPEG and noise.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from worlds.shapes.world import BACKGROUNDS, CANVAS, COLOURS, POSITIONS, SHAPES, SIZES, STYLES, Obj, Scene, parse_sentence, shape_mask

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
    return np.median(np.stack(stack), axis=0)


@lru_cache(maxsize=1)
def _templates():
    keys = list(itertools.product(SHAPES, SIZES, POSITIONS, STYLES))
    masks = np.stack([shape_mask(*k) for k in keys]).reshape(len(keys), -1).astype(np.float32)
    return keys, masks


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


def _best_template(mask: np.ndarray) -> tuple[str, str, str, str]:
    """(shape, size, position, style) of the world's mask that overlaps `mask` best."""
    keys, masks = _templates()
    mask = mask.astype(np.float32)
    inter = masks @ mask
    return keys[int(np.argmax(inter / (masks.sum(1) + mask.sum() - inter)))]


def parse_image(image) -> Scene:
    """The scene a picture shows (objects ordered left/top first, as the parser cannot know the request)."""
    background, labels, distance = _label(_median3(_as_array(image)))
    counts = np.bincount(labels[labels >= 0].ravel(), minlength=len(COLOURS))
    by_position: dict[str, tuple[str, np.ndarray]] = {}
    for index in np.argsort(-counts):
        if counts[index] < MIN_OBJECT_PIXELS:
            break
        mask = (labels == index).reshape(-1)
        position = _best_template(mask)[2]
        if position in by_position:  # two objects never share a place: a colour artefact of its edge
            colour, kept = by_position[position]
            by_position[position] = (colour, kept | mask)
        else:
            by_position[position] = (OBJECT_NAMES[index], mask)
    objects, styles = [], []
    for _, mask in by_position.values():
        colour = OBJECT_NAMES[int(distance[mask].sum(0).argmin())]  # the whole region votes, edges and all
        shape, size, position, style = _best_template(mask)
        objects.append(Obj(colour, shape, size, position))
        styles.append(style)
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

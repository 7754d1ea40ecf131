"""Augmentation that keeps the caption true: a mirror flip swaps left and right in the caption (English
and Chinese), a crop keeps every object whole, and colours change only when the caption names none.

Only the flip is on by default. Crops are off by default because resizing a crop back changes the sizes
and places a caption may name ("small", "on the left"); turn them on for pictures whose captions do not.
Recolouring is for pictures in flat colours of a known palette (a synthetic world's): one colour the caption
names is swapped for one it does not, in the picture and the caption alike.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance

SIDES = {"left": "right", "right": "left", "左": "右", "右": "左"}
_SIDE_RE = re.compile(r"\b(left|right)\b|[左右]", re.IGNORECASE)
COLOUR_WORDS = re.compile(
    r"\b(red|orange|yellow|green|cyan|turquoise|blue|purple|violet|pink|white|black|gr[ae]y|brown|colou?r\w*)\b"
    r"|[红橙橘黄绿青蓝紫粉白黑灰棕色]",
    re.IGNORECASE,
)
# words that a flip would make false and that cannot be swapped
UNFLIPPABLE = re.compile(r"\b(text|letters?|writing|words?|clockwise|counterclockwise)\b|[字]", re.IGNORECASE)


@dataclass(frozen=True)
class Augment:
    flip: bool = True
    crop: float = 0.0  # at most this share of the side is cut away
    colour: float = 0.0  # brightness and saturation change by at most this share
    palette: tuple[tuple[str, tuple[int, int, int]], ...] = ()  # (name, rgb) of the flat colours captions name
    recolour: float = 0.0  # the share of pictures whose named palette colour is swapped for another

    def describe(self) -> str:
        parts = ["mirror flips with left and right swapped in the caption" if self.flip else "no flips"]
        parts.append(f"crops of up to {self.crop:.0%} that keep every object whole" if self.crop else "no crops")
        parts.append(
            f"colour changes of up to {self.colour:.0%}, only where the caption names no colour"
            if self.colour
            else "no colour changes"
        )
        if self.recolour and self.palette:
            parts.append(
                f"{self.recolour:.0%} of pictures recoloured: one palette colour the caption names swapped for "
                "another in picture and caption"
            )
        return "; ".join(parts)

    def __call__(self, image: Image.Image, text: str, rng: random.Random) -> tuple[Image.Image, str]:
        if self.crop:
            image = crop_whole(image, self.crop, rng)
        if self.flip and rng.random() < 0.5 and not UNFLIPPABLE.search(text):
            image, text = image.transpose(Image.FLIP_LEFT_RIGHT), swap_sides(text)
        if self.recolour and self.palette and rng.random() < self.recolour:
            image, text = recolour(image, text, dict(self.palette), rng)
        if self.colour and not COLOUR_WORDS.search(text):
            image = ImageEnhance.Brightness(image).enhance(1 + rng.uniform(-self.colour, self.colour))
            image = ImageEnhance.Color(image).enhance(1 + rng.uniform(-self.colour, self.colour))
        return image, text


def recolour(
    image: Image.Image, text: str, palette: dict[str, tuple[int, int, int]], rng: random.Random
) -> tuple[Image.Image, str]:
    """One palette colour the caption names, swapped for one it names nowhere: the pixels within 8 of it and
    the word. Unchanged when the caption is not English, names none, or the picture does not show it."""
    if _CJK.search(text):
        return image, text
    words = re.findall(r"[a-z]+", text.lower())
    named = [w for w in dict.fromkeys(words) if w in palette]
    free = [c for c in palette if c not in words]
    if not named or not free:
        return image, text
    old, new = rng.choice(named), rng.choice(free)
    pixels = np.asarray(image.convert("RGB")).astype(np.int16)
    close = np.abs(pixels - np.array(palette[old])).max(-1) <= 8
    if not close.any():
        return image, text
    pixels[close] += np.array(palette[new], np.int16) - np.array(palette[old], np.int16)
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return picture, re.sub(rf"\b{old}\b", new, text, flags=re.IGNORECASE)


_CJK = re.compile(r"[\u3400-\u9fff]")


def swap_sides(text: str) -> str:
    """left <-> right (keeping capitals) and 左 <-> 右."""

    def swap(m: re.Match) -> str:
        word = m.group(0)
        other = SIDES[word.lower()]
        return other.capitalize() if word[0].isupper() else other

    return _SIDE_RE.sub(swap, text)


def object_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) around every pixel that differs from the border's commonest colour."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).astype(np.int16)
    colours, counts = np.unique(border, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    ys, xs = np.nonzero(np.abs(pixels.astype(np.int16) - background).max(-1) > 24)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def crop_whole(image: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """A random crop of up to `share` of each side that leaves every object inside, resized back."""
    w, h = image.size
    box = object_box(np.asarray(image.convert("RGB")))
    if box is None:
        return image
    left, top, right, bottom = box
    cut_w, cut_h = int(w * rng.uniform(0, share)), int(h * rng.uniform(0, share))
    cut_w, cut_h = min(cut_w, w - (right - left)), min(cut_h, h - (bottom - top))
    x = rng.randint(max(0, right - (w - cut_w)), min(left, cut_w))
    y = rng.randint(max(0, bottom - (h - cut_h)), min(top, cut_h))
    return image.crop((x, y, x + w - cut_w, y + h - cut_h)).resize((w, h), Image.BICUBIC)

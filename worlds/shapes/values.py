"""The value a message asks for or asks about: "green", "a square", "bigger", "outlined", "a black
background", "on the left"; as (kind, value) with the world's canonical names."""

from __future__ import annotations

import re

from worlds.shapes.talk import POSITION_WORDS
from worlds.shapes.words import BACKGROUND_WORDS, COLOUR_WORDS, SHAPE_WORDS, WHERE_WORDS

BACKGROUND_NAMES = {"white": "white", "black": "black", "dark": "black", "gray": "gray", "grey": "gray"}
SIZE_VALUES = {
    "bigger": "large",
    "larger": "large",
    "big": "large",
    "large": "large",
    "huge": "large",
    "smaller": "small",
    "small": "small",
    "little": "small",
    "tiny": "small",
}
STYLE_VALUES = {
    "flat": "flat",
    "filled": "flat",
    "solid": "flat",
    "filled in": "flat",
    "outline": "outline",
    "outlined": "outline",
    "line drawing": "outline",
    "hollow": "outline",
}
_LEAD = re.compile(r"^(?:(?:a|an|the|on|in|into|with|against|to|be|more|as|made)\s+)+")
_TAIL = re.compile(r"(?:\s+(?:one|colour|style|size|shape|version|instead|please|again|now|too))+$")
_WORDS: dict[str, tuple[str, str]] = {}
for _kind, _table in (("colour", COLOUR_WORDS), ("shape", SHAPE_WORDS), ("position", WHERE_WORDS)):
    _WORDS |= {w: (_kind, k) for k, words in _table.items() for w in words}
_WORDS |= {w: ("colour", c) for w, c in BACKGROUND_NAMES.items()}  # "make it black": only the background can be
_WORDS |= {w: ("size", s) for w, s in SIZE_VALUES.items()}
_WORDS |= {w: ("style", s) for w, s in STYLE_VALUES.items()}
_WORDS |= {w: ("position", p) for w, p in POSITION_WORDS.items()}
_WORDS |= {w: ("background", b) for b, words in BACKGROUND_WORDS.items() for w in words}
_WORDS |= {f"{w} {n}": ("background", b) for w, b in BACKGROUND_NAMES.items() for n in ("background", "backdrop")}


def read_value(text: str) -> tuple[str, str] | None:
    """(kind, canonical value) when the whole text names one value, else None. Kinds: colour (object
    colours, and black, white or gray, which only the background can take), shape, size, style,
    position, background."""
    text = _LEAD.sub("", text.strip()).strip()
    return _WORDS.get(text) or _WORDS.get(_TAIL.sub("", text).strip())

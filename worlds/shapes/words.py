"""The English words the starter world's requests use for each attribute value (read and written)."""

from __future__ import annotations

from worlds.shapes.world import COLOURS

SIZE_WORDS = {"small": ["small", "little", "tiny"], "large": ["large", "big", "huge"]}
COLOUR_WORDS = {c: [c] for c in COLOURS} | {"purple": ["purple", "violet"], "cyan": ["cyan", "turquoise"]}
SHAPE_WORDS = {
    "circle": ["circle", "ball", "disc"],
    "square": ["square", "box", "block"],
    "triangle": ["triangle", "triangular shape"],
    "cross": ["cross", "plus", "plus sign"],
}
UNSTATED_SHAPE_WORDS = ["shape", "object", "thing"]
WHERE_WORDS = {
    "center": ["in the center", "in the middle", "centered"],
    "left": ["on the left", "on the left side", "to the left"],
    "right": ["on the right", "on the right side", "to the right"],
    "top": ["at the top", "near the top", "up top"],
    "bottom": ["at the bottom", "near the bottom", "down low"],
}
BACKGROUND_WORDS = {
    "black": ["black background", "dark background", "black backdrop"],
    "white": ["white background", "white backdrop"],
    "gray": ["gray background", "gray backdrop", "grey backdrop", "grey background"],
}

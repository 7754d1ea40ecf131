"""Synthetic worlds behind one small interface; the registry's `world` key picks one.

Pipelines reach world-specific behaviour only through `World` (read a request, tell whether a
text is canonical, score agreement, restyle, apply an edit); training/ builds on the same packages.
"""

from __future__ import annotations

from worlds.base import World


def world_for(name: str | None) -> World | None:
    """The world a registry entry names, or None for models of the open world."""
    if not name:
        return None
    if name == "shapes":
        from worlds.shapes import SHAPES_WORLD

        return SHAPES_WORLD
    raise KeyError(f"unknown world '{name}'")


KNOWN_WORLDS = ("shapes",)

"""Judges: what reads a picture, checks it against the request and proposes the next prompt.

`judge_for(cache, entry)` is asked once per request: a model of a synthetic world gets its world's
reader (judges/world.py), a model of the open world the CLIP and captioner judge (judges/hub.py).
"""

from __future__ import annotations

from pipelines.judges.base import Judge, Verdict
from pipelines.judges.hub import HubJudge
from pipelines.judges.world import WorldJudge
from worlds import world_for
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

__all__ = ["Judge", "Verdict", "judge_for"]


def judge_for(cache: ModelCache, entry: ModelEntry) -> Judge:
    """The judge of pictures drawn by `entry`: its world's reader, or CLIP and the captioner."""
    world = world_for(entry.world)
    return WorldJudge(entry, world) if world is not None else HubJudge(cache, entry)

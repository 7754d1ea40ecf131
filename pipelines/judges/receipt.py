"""A receipt on every picture: each attribute the request states, what the picture shows, ✓ or ✗.

A receipt is a list of rows {'attribute', 'wanted', 'seen', 'ok'} (plain JSON, so it goes as it is
into the API result, results.jsonl and the PNG's `receipt` text chunk).

- Models of a synthetic world: the world reads the picture itself (the starter world's scene
  parser), not its caption; the rows are the request's stated attributes and the object count.
- Hub models: an approximate, GenEval-style check with the zoo's CLIP (registry `scorer`) and the
  captioner, for each object the request names: present, its colour, and its count and side where
  stated (pipelines/hub_checks.py). Its rows carry approximate: True.
"""

from __future__ import annotations

import re

from pipelines import hub_checks
from pipelines.results import Generation
from worlds import world_for
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

Receipt = list[dict]
TICK, CROSS = "✓", "✗"


def build(
    cache: ModelCache, entry: ModelEntry, request: str, images: list, captions: list | None = None
) -> list[Receipt]:
    """One receipt per picture drawn by `entry` for `request`."""
    world = world_for(entry.world)
    if world is not None:
        return [world.check(request, image) for image in images]
    captions = captions if captions is not None else [None] * len(images)
    return [hub_checks.check(cache, entry, request, image, caption) for image, caption in zip(images, captions)]


def passed(receipt: Receipt) -> bool:
    """Every row is ticked (an empty receipt states nothing, so nothing failed)."""
    return all(row["ok"] for row in receipt)


def score(receipt: Receipt) -> float:
    """The share of rows ticked (1.0 for an empty receipt)."""
    return sum(row["ok"] for row in receipt) / len(receipt) if receipt else 1.0


def missed(receipt: Receipt) -> list[str]:
    """The attributes that failed, by name."""
    return [row["attribute"] for row in receipt if not row["ok"]]


def receipt_text(receipt: Receipt | None) -> str:
    """One line for under the picture, e.g. "colour red ✓ · shape circle ✗ (saw square)"."""
    if not receipt:
        return ""
    two = any(row["attribute"].startswith("object2.") for row in receipt)
    parts = []
    for row in receipt:
        name = row["attribute"]
        if re.match(r"object\d+\.", name):
            number, _, name = name.partition(".")
            name = f"{number[len('object') :]}: {name}" if two else name
        part = f"{name} {row['wanted']} {TICK if row['ok'] else CROSS}"
        if not row["ok"]:
            part += f" (saw {'nothing' if row['seen'] is None else row['seen']})"
        parts.append(part)
    line = " · ".join(parts)
    return line + " (approximate)" if any(row.get("approximate") for row in receipt) else line


def attach(cache: ModelCache, model_id: str | None, request: str, generation: Generation) -> Generation:
    """Gives every picture of a generation that has none its receipt (plain runs get theirs here)."""
    entry = cache.registry.pick(model_id, "text-to-image")
    todo = [p for p in generation.pictures if p.receipt is None]
    if todo:
        for picture, receipt in zip(
            todo, build(cache, entry, request, [p.image for p in todo], [p.caption for p in todo])
        ):
            picture.receipt = receipt
    return generation

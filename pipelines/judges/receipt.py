"""A receipt on every picture: each attribute the request states, what the picture shows, ✓ or ✗.

A receipt is a list of rows {'attribute', 'wanted', 'seen', 'ok'} (plain JSON, so it goes as it is
into the API result, results.jsonl and the PNG's `receipt` text chunk).

- Models of a synthetic world: the world reads the picture itself (the starter world's scene
  parser), not its caption; the rows are the request's stated attributes and the object count.
- Hub models: an approximate, GenEval-style check with the zoo's CLIP (registry `scorer`) and the
  captioner, for each object the request names: present, its colour, and its count and side where
  stated (pipelines/judges/hub_checks.py). Its rows carry approximate: True.

The judge of the model (pipelines/judges/) writes the rows; this module reads them.
"""

from __future__ import annotations

import re

Receipt = list[dict]
TICK, CROSS = "✓", "✗"


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

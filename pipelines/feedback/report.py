"""What people said about the pictures, and where the judge (the receipt) disagrees with them.

For each attribute a receipt states:
- missed: the receipt said ✓ and the person marked the attribute wrong (whatever the rating);
- false alarm: the receipt said ✗ and the person rated 👍 without marking the attribute wrong.
Each share is counted over the rated pictures whose receipt said ✓ (missed) or ✗ (false alarm) for it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from pipelines.feedback.store import Rated


def report(rated: list[Rated]) -> dict:
    """Per model the share of 👍; per attribute how often it was marked wrong and the judge's blind spots."""
    return {
        "ratings": len(rated),
        "up": sum(r.rating == "up" for r in rated),
        "down": sum(r.rating == "down" for r in rated),
        "models": _models(rated),
        "attributes": _attributes(rated),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _models(rated: list[Rated]) -> list[dict]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in rated:
        counts[r.model or "(unknown)"][r.rating] += 1
    return [
        {"model": model, "ratings": c.total(), "up": c["up"], "share_up": _share(c["up"], c.total())}
        for model, c in sorted(counts.items())
    ]


def _attributes(rated: list[Rated]) -> list[dict]:
    seen: dict[str, Counter] = defaultdict(Counter)
    for r in rated:
        for row in r.receipt or []:
            name, ok, marked = row["attribute"], bool(row["ok"]), row["attribute"] in r.wrong
            c = seen[name]
            c["rated"] += 1
            c["marked_wrong"] += marked
            c["receipt_ok"] += ok
            c["receipt_failed"] += not ok
            c["missed"] += ok and marked
            c["false_alarms"] += (not ok) and r.rating == "up" and not marked
    return [
        {
            "attribute": name,
            "rated": c["rated"],
            "marked_wrong": c["marked_wrong"],
            "share_marked_wrong": _share(c["marked_wrong"], c["rated"]),
            "receipt_ok": c["receipt_ok"],
            "missed": c["missed"],
            "share_missed": _share(c["missed"], c["receipt_ok"]),
            "receipt_failed": c["receipt_failed"],
            "false_alarms": c["false_alarms"],
            "share_false_alarms": _share(c["false_alarms"], c["receipt_failed"]),
        }
        for name, c in sorted(seen.items())
    ]


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f} %"


def _table(headers: list[str], rows: list[list]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(x).ljust(w) for x, w in zip(cells, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def format_report(result: dict) -> str:
    """The report as three plain-text tables."""
    lines = [f"{result['ratings']} ratings: {result['up']} 👍, {result['down']} 👎", "", "Per model"]
    lines += _table(
        ["model", "ratings", "up", "share up"],
        [[m["model"], m["ratings"], m["up"], _percent(m["share_up"])] for m in result["models"]],
    )
    attributes = result["attributes"]
    lines += ["", "Per attribute: marked wrong by people"]
    lines += _table(
        ["attribute", "rated", "marked wrong", "share"],
        [[a["attribute"], a["rated"], a["marked_wrong"], _percent(a["share_marked_wrong"])] for a in attributes],
    )
    lines += ["", "The judge's blind spots: receipt ✓ but marked wrong (missed); receipt ✗ but 👍, not marked"]
    lines += _table(
        ["attribute", "receipt ✓", "missed", "share", "receipt ✗", "false alarms", "share"],
        [
            [
                a["attribute"],
                a["receipt_ok"],
                a["missed"],
                _percent(a["share_missed"]),
                a["receipt_failed"],
                a["false_alarms"],
                _percent(a["share_false_alarms"]),
            ]
            for a in attributes
        ],
    )
    return "\n".join(lines)

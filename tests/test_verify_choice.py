"""Verify and refine picks by the receipts, and hub receipts tick only what was seen. The candidates'
receipts are set here on purpose (the world's check is wrapped so that each candidate misses a chosen
number of rows), so the expected order, the round's best and its misses are written down, not computed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from pipelines.backend import LocalBackend
from pipelines.core.results import GenerateRequest
from pipelines.judges import judge_for, receipt
from worlds.shapes import SHAPES_WORLD

REQUEST = "a large red circle on the left on a gray background, flat style"
# rows each candidate misses, in drawing order: round 1 has no winner, round 2 has two
MISSES = [[7, 1, 5, 3], [3, 0, 7, 0]]


@pytest.fixture
def rigged(monkeypatch):
    """The world's check, with candidate k (in drawing order) missing its first MISSES rows."""
    real, plan, calls = SHAPES_WORLD.check, [m for r in MISSES for m in r], []

    def check(request, image):
        rows = real(request, image)
        misses = plan[len(calls)]
        calls.append(image)
        return [dict(row, ok=i >= misses) for i, row in enumerate(rows)]

    monkeypatch.setattr(SHAPES_WORLD, "check", check)
    return calls


def test_candidates_come_best_first_and_each_round_acts_on_its_best(cache, rigged):
    result = LocalBackend(cache).generate(GenerateRequest(REQUEST, seed=0, verify=4, rounds=2, expand_with="none"))
    assert len(rigged) == 8 and len(result.rounds) == 2
    first, second = result.rounds[0].seeds, result.rounds[1].seeds
    # passing candidates first (in drawing order), then by the share of rows ticked
    expected = [second[1], second[3], first[1], first[3], second[0], first[2], first[0], second[2]]
    assert [p.parameters["seed"] for p in result.pictures] == expected
    assert [p.score for p in result.pictures] == pytest.approx([1, 1, 6 / 7, 4 / 7, 4 / 7, 2 / 7, 0, 0])
    rows = [r["attribute"] for r in result.pictures[0].receipt]
    # round 1's best candidate is its second (one miss, the first row), not its first (every row missed)
    assert result.rounds[0].missed == rows[:1]
    assert result.rounds[1].prompt == SHAPES_WORLD.refine(REQUEST, REQUEST, rows[:1], 1)
    assert result.rounds[0].scores == pytest.approx([0, 6 / 7, 2 / 7, 4 / 7])
    best = result.pictures[0]  # the picture shown first is described by the world's reading of it
    assert best.caption and best.caption == SHAPES_WORLD.read_picture(best.image)
    assert result.checks()["captions"][0] == best.caption


def test_a_hub_receipt_ticks_only_what_the_caption_shows(cache):
    """Without a scorer the hub check reads the caption alone: what it names is seen, nothing else."""
    entry = replace(cache.registry.get("stabilityai/sd-turbo"), scorer=None)
    picture = Image.new("RGB", (64, 64), (20, 20, 200))
    request = "a blue dog and two apples"
    judge = judge_for(cache, entry)
    right, wrong = judge.check(request, [picture, picture], ["a blue dog beside apples", "a red cat"])
    assert [(r["attribute"], r["wanted"], r["seen"], r["ok"]) for r in right] == [
        ("dog present", "yes", "yes", True),
        ("dog colour", "blue", "blue", True),
        ("apple present", "yes", "yes", True),
    ]
    assert [(r["attribute"], r["wanted"], r["seen"], r["ok"]) for r in wrong] == [
        ("dog present", "yes", "no", False),
        ("dog colour", "blue", "red", False),
        ("apple present", "yes", "no", False),
    ]
    assert not receipt.passed(wrong) and receipt.passed(right) and receipt.score(wrong) == 0
    assert all(r["approximate"] for r in right + wrong)

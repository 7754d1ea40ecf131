"""An approximate, GenEval-style check of a hub model's picture against a free-form request.

GenEval checks each object a prompt names (present, its colour, its count, its side) with an object
detector. Offline we have CLIP (the registry's `scorer`) and the captioner instead, so this check is
APPROXIMATE: an object is present when the caption names it or CLIP prefers "a photo of a X" to "a
photo of something else"; its colour and count are CLIP's zero-shot choice among the colour words
and the counts one to six; its side is the half of the picture where CLIP finds it more. Objects are
found in the request by a small pattern (a count or colour word, then a noun), so requests of other
shapes get fewer rows. Every row says approximate: True.

All the texts a request needs are matched against all the pictures (and their halves) in one CLIP pass.
"""

from __future__ import annotations

import re

from pipelines.models.clip import similarities
from zoo.cache import ModelCache

COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"]
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
NUMBER_WORDS = {v: k for k, v in NUMBERS.items() if k not in ("a", "an")}
SKIP = {"small", "big", "large", "little", "tiny", "huge", "photo", "picture", "of", "the", "cute", "old", "new"}


def objects_named(request: str) -> list[dict]:
    """[{'noun', 'count', 'colour', 'side'}] for each 'article-or-count colour? noun' the request names."""
    text = request.lower().replace("grey", "gray")
    found = []
    for segment in re.split(r",|\band\b|\bnext to\b|\bbeside\b|\babove\b|\bbelow\b", text):
        words = re.findall(r"[a-z]+", segment)
        count = colour = None
        started = False  # an article, count or colour came: the next other word is the noun
        for word in words:
            if word in NUMBERS and colour is None:
                count, started = NUMBERS[word] if word not in ("a", "an") else count, True
            elif word in COLOURS:
                colour, started = word, True
            elif started and word not in SKIP:
                noun = word[:-1] if count and count > 1 and word.endswith("s") else word
                side = next((s for s in ("left", "right") if re.search(rf"\b{s}\b", segment)), None)
                found.append({"noun": noun, "count": count, "colour": colour, "side": side})
                break
    return found[:4]


def check(cache: ModelCache, entry, request: str, images: list, captions: list, also: tuple = ()) -> tuple:
    """Per picture, rows {'attribute', 'wanted', 'seen', 'ok', 'approximate'} for each object the request names;
    and per picture CLIP's similarity with each text of `also` (empty without a scorer)."""
    objects = objects_named(request)
    sim = _Similarities(cache, entry.scorer, images, _texts(objects) + list(also), any(o["side"] for o in objects))
    receipts = [[row for obj in objects for row in _rows(obj, sim, i, caption)] for i, caption in enumerate(captions)]
    return receipts, [[sim(i, text) for text in also] for i in range(len(images))] if entry.scorer else []


class _Similarities:
    """CLIP's similarity of each picture (and, for sides, each picture's halves) with each text: one pass."""

    def __init__(self, cache: ModelCache, scorer: str | None, images: list, texts: list[str], halves: bool):
        self.scorer, self.count = scorer, len(images)
        self.columns = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        pictures = list(images)
        if halves:
            for image in images:
                w, h = image.size
                pictures += [image.crop((0, 0, w // 2, h)), image.crop((w - w // 2, 0, w, h))]
        self.rows = similarities(cache, scorer, pictures, list(self.columns)) if scorer and self.columns else []

    def __call__(self, index: int, text: str, half: int | None = None) -> float:
        row = index if half is None else self.count + 2 * index + half
        return self.rows[row][self.columns[text]]


def _presence(noun: str) -> list[str]:
    return [f"a photo of a {noun}", "a photo of something else"]


def _colours(noun: str) -> list[str]:
    return [f"a photo of a {c} {noun}" for c in COLOURS]


def _counts(noun: str) -> list[str]:
    return [f"a photo of {NUMBER_WORDS[n]} {noun}{'s' if n > 1 else ''}" for n in range(1, 7)]


def _texts(objects: list[dict]) -> list[str]:
    return [t for o in objects for t in _presence(o["noun"]) + _colours(o["noun"]) + _counts(o["noun"])]


def _rows(obj: dict, sim: _Similarities, i: int, caption: str | None) -> list[dict]:
    noun, scored = obj["noun"], sim.scorer is not None
    words = set(re.findall(r"[a-z]+", (caption or "").lower()))
    present = noun in words or f"{noun}s" in words
    if scored:
        yes, other = (sim(i, t) for t in _presence(noun))
        present = present or yes > other
    rows = [_row(f"{noun} present", "yes", "yes" if present else "no")]
    if obj["colour"]:
        if scored:
            seen = _best(sim, i, _colours(noun), COLOURS)
        else:
            seen = next((c for c in COLOURS if c in words), None)
        rows.append(_row(f"{noun} colour", obj["colour"], seen))
    if obj["count"] and scored:
        rows.append(_row(f"{noun} count", obj["count"], _best(sim, i, _counts(noun), list(range(1, 7)))))
    if obj["side"] and scored:
        text = f"a photo of a {noun}"
        rows.append(_row(f"{noun} side", obj["side"], "left" if sim(i, text, 0) >= sim(i, text, 1) else "right"))
    return rows


def _row(attribute: str, wanted, seen) -> dict:
    return {"attribute": attribute, "wanted": wanted, "seen": seen, "ok": seen == wanted, "approximate": True}


def _best(sim: _Similarities, i: int, texts: list[str], labels: list):
    """The label whose text CLIP matches best (the first, on a tie)."""
    scores = [sim(i, t) for t in texts]
    return labels[scores.index(max(scores))]

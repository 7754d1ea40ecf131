"""An approximate, GenEval-style check of a hub model's picture against a free-form request.

GenEval checks each object a prompt names (present, its colour, its count, its side) with an object
detector. Offline we have CLIP (the registry's `scorer`) and the captioner instead, so this check is
APPROXIMATE: an object is present when the caption names it or CLIP prefers "a photo of a X" to "a
photo of something else"; its colour and count are CLIP's zero-shot choice among the colour words
and the counts one to six; its side is the half of the picture where CLIP finds it more. Objects are
found in the request by a small pattern (a count or colour word, then a noun), so requests of other
shapes get fewer rows. Every row says approximate: True.
"""

from __future__ import annotations

import re

import torch

from pipelines.scoring import similarities
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


def check(cache: ModelCache, entry, request: str, image, caption: str | None) -> list[dict]:
    """Rows {'attribute', 'wanted', 'seen', 'ok', 'approximate'} for each object the request names."""
    rows = []
    words = set(re.findall(r"[a-z]+", (caption or "").lower()))
    for obj in objects_named(request):
        noun = obj["noun"]
        in_caption = noun in words or f"{noun}s" in words
        if entry.scorer:
            sims = similarities(cache, entry.scorer, [image], [f"a photo of a {noun}", "a photo of something else"])[0]
            present = in_caption or sims[0] > sims[1]
        else:
            present = in_caption
        rows.append(_row(f"{noun} present", "yes", "yes" if present else "no"))
        if obj["colour"]:
            seen = _choice(cache, entry, image, [f"a photo of a {c} {noun}" for c in COLOURS], COLOURS, words)
            rows.append(_row(f"{noun} colour", obj["colour"], seen))
        if obj["count"] and entry.scorer:
            texts = [f"a photo of {NUMBER_WORDS[n]} {noun}{'s' if n > 1 else ''}" for n in range(1, 7)]
            rows.append(_row(f"{noun} count", obj["count"], _choice(cache, entry, image, texts, list(range(1, 7)))))
        if obj["side"] and entry.scorer:
            rows.append(_row(f"{noun} side", obj["side"], _side(cache, entry.scorer, image, noun)))
    return rows


def _row(attribute: str, wanted, seen) -> dict:
    return {"attribute": attribute, "wanted": wanted, "seen": seen, "ok": seen == wanted, "approximate": True}


def _choice(cache, entry, image, texts: list[str], labels: list, caption_words: set | None = None):
    """The label whose text CLIP matches best; without CLIP, the first label the caption names (or None)."""
    if not entry.scorer:
        return next((label for label in labels if str(label) in (caption_words or set())), None)
    sims = similarities(cache, entry.scorer, [image], texts)[0]
    return labels[int(torch.tensor(sims).argmax())]


def _side(cache, scorer_id: str, image, noun: str) -> str:
    w, h = image.size
    halves = [image.crop((0, 0, w // 2, h)), image.crop((w - w // 2, 0, w, h))]
    sims = similarities(cache, scorer_id, halves, [f"a photo of a {noun}"])
    return "left" if sims[0][0] >= sims[1][0] else "right"

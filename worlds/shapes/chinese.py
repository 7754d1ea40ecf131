"""Requests in Chinese (worlds/shapes/CONTRACT.md, "In Chinese"): a generator of the ways people ask in
Chinese (and in English with Chinese words mixed in). The word tables and `to_english`, the reader's side,
are in worlds/shapes/zh.py (the English reader, requests.py, uses them).
"""

from __future__ import annotations

import random
import re

from worlds.shapes.requests import ObjRequest, Request, freeform
from worlds.shapes.words import BACKGROUND_WORDS, COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, WHERE_WORDS
from worlds.shapes.zh import (  # noqa: F401  (has_chinese, to_english and the tables are read from here too)
    BACKGROUND_ZH,
    COLOUR_ZH,
    COMMAS_ZH,
    JOINERS_ZH,
    OPENERS_ZH,
    SHAPE_ZH,
    SIZE_ZH,
    STYLE_ZH,
    TABLES_ZH,
    UNSTATED_SHAPE_ZH,
    WHERE_ZH,
    has_chinese,
    to_english,
)

# ---------------------------------------------------------------- the generator


def _measure(rng: random.Random) -> str:
    return rng.choice(["一个", "一个", "个", ""])


def _object_zh(o: ObjRequest, rng: random.Random, style_word: str) -> str:
    adjectives = [
        w
        for w in (rng.choice(SIZE_ZH[o.size]) if o.size else "", rng.choice(COLOUR_ZH[o.colour]) if o.colour else "")
        if w
    ]
    if len(adjectives) == 2 and rng.random() < 0.2:
        adjectives.reverse()
    if style_word:
        adjectives.insert(0, style_word + rng.choice(["的", ""]))
    noun = rng.choice(SHAPE_ZH[o.shape]) if o.shape else rng.choice(UNSTATED_SHAPE_ZH)
    head = "".join(adjectives) + noun
    if not o.position:
        return _measure(rng) + head
    where = rng.choice(WHERE_ZH[o.position])
    if rng.random() < 0.35:  # the position first: 在 may be dropped, 有 may follow
        where = where[1:] if where.startswith("在") and rng.random() < 0.6 else where
        return where + rng.choice(["", "", "有", "是"]) + _measure(rng) + head
    return _measure(rng) + head + where


def freeform_zh(request: Request, rng: random.Random) -> str:
    """One way a person might ask in Chinese for what `request` states."""
    style_as_adjective = request.style and rng.random() < 0.3
    parts = []
    for i, o in enumerate(request.objects):
        word = rng.choice(STYLE_ZH[request.style]) if style_as_adjective and i == 0 else ""
        parts.append(_object_zh(o, rng, word))
    body = rng.choice(JOINERS_ZH).join(parts)
    extras = []
    if request.background:
        extras.append(rng.choice(BACKGROUND_ZH[request.background]))
    if request.style and not style_as_adjective:
        extras.append(rng.choice(STYLE_ZH[request.style]) + rng.choice(["", "", "的", "风格"]))
    rng.shuffle(extras)
    text = rng.choice(OPENERS_ZH) + body
    for extra in extras:
        comma = rng.choice(COMMAS_ZH) or "，"
        text = f"{extra}{comma}{text}" if rng.random() < 0.25 else f"{text}{comma}{extra}"
    return text + rng.choice(["", "", "", "。", "！", ".", "!", "吧"])


_ENGLISH_TABLES = {
    "colour": COLOUR_WORDS,
    "shape": SHAPE_WORDS,
    "size": SIZE_WORDS,
    "position": WHERE_WORDS,
    "background": BACKGROUND_WORDS,
}


def mixed(request: Request, rng: random.Random, share: float = 0.5) -> str:
    """An English request with some stated words said in Chinese, like "a 红色 circle"."""
    text = freeform(request, rng)
    stated = [(k, v) for o in request.objects for k, v in vars(o).items() if v]
    stated += [("background", request.background)] if request.background else []
    for kind, value in stated:
        if rng.random() >= share:
            continue
        for phrase in sorted(_ENGLISH_TABLES[kind][value], key=len, reverse=True):
            m = re.search(rf"\b{re.escape(phrase)}\b", text)
            if m:
                zh = rng.choice(TABLES_ZH[kind][value])
                text = f"{text[: m.start()]}{zh}{text[m.end() :]}"
                break
    return text

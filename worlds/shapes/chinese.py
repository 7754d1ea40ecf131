"""Requests in Chinese (STARTER_WORLD.md, "Requests in Chinese"): the word tables, a generator of
the ways people ask in Chinese (and in English with Chinese words mixed in), and `to_english`,
which rewrites a Chinese or mixed request into English words the English reader understands.
"""

from __future__ import annotations

import random
import re

from worlds.shapes.requests import (
    BACKGROUND_WORDS,
    COLOUR_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    WHERE_WORDS,
    ObjRequest,
    Request,
    freeform,
)

COLOUR_ZH = {
    "red": ["红", "红色"],
    "orange": ["橙", "橙色", "橘色"],
    "yellow": ["黄", "黄色"],
    "green": ["绿", "绿色"],
    "cyan": ["青", "青色"],
    "blue": ["蓝", "蓝色"],
    "purple": ["紫", "紫色"],
    "pink": ["粉", "粉色", "粉红色"],
}
SHAPE_ZH = {
    "circle": ["圆", "圆形", "圆圈", "球"],
    "square": ["正方形", "方块", "方形"],
    "triangle": ["三角形", "三角"],
    "cross": ["十字", "十字形", "加号"],
}
SIZE_ZH = {"large": ["大", "大的", "很大的"], "small": ["小", "小的", "很小的"]}
WHERE_ZH = {
    "center": ["在中间", "在中央", "居中"],
    "left": ["在左边", "在左侧", "靠左"],
    "right": ["在右边", "在右侧", "靠右"],
    "top": ["在上面", "在顶部", "在上方"],
    "bottom": ["在下面", "在底部", "在下方"],
}
BACKGROUND_ZH = {"white": ["白色背景", "白底"], "black": ["黑色背景", "黑底", "深色背景"], "gray": ["灰色背景", "灰底"]}
STYLE_ZH = {"flat": ["实心", "填充", "平涂"], "outline": ["轮廓", "空心", "描边", "线条画"]}
UNSTATED_SHAPE_ZH = ["图形", "形状", "东西"]
OPENERS_ZH = ["", "", "画", "请画", "帮我画", "我想要", "请帮我画", "给我画"]
JOINERS_ZH = ["和", "与", "还有", "，", ", ", "、", ","]
COMMAS_ZH = ["，", "，", ", ", ",", "、"]
TABLES_ZH = {
    "colour": COLOUR_ZH,
    "shape": SHAPE_ZH,
    "size": SIZE_ZH,
    "position": WHERE_ZH,
    "background": BACKGROUND_ZH,
    "style": STYLE_ZH,
}

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_chinese(text: str) -> bool:
    return CJK.search(text) is not None


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


# ---------------------------------------------------------------- the reader's side


def _phrases() -> list[tuple[str, str]]:
    english = {
        "colour": lambda v: v,
        "shape": lambda v: v,
        "size": lambda v: v,
        "position": lambda v: WHERE_WORDS[v][0],
        "background": lambda v: f"{v} background",
        "style": lambda v: {"flat": "flat", "outline": "outline"}[v],
    }
    pairs = [(zh, english[kind](v)) for kind, table in TABLES_ZH.items() for v, words in table.items() for zh in words]
    pairs += [(w[1:], english["position"](v)) for v, words in WHERE_ZH.items() for w in words if w.startswith("在")]
    pairs += [
        ("粉红", "pink"),
        ("橘", "orange"),
        ("线条", "outline"),
        ("描线", "outline"),
        ("白背景", "white background"),
        ("黑背景", "black background"),
        ("灰背景", "gray background"),
        ("暗色背景", "black background"),
    ]
    pairs += [(w, "shape") for w in UNSTATED_SHAPE_ZH + ["物体"]]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


_PHRASES = _phrases()
_PHRASE_RE = re.compile("|".join(re.escape(p) for p, _ in _PHRASES))
_ENGLISH_OF = dict(_PHRASES)
_BACKGROUND_IS = re.compile(r"背景(?:是|为|用)?(白|黑|灰|深)色?")
_BACKGROUND_OF = {"白": "white", "黑": "black", "灰": "gray", "深": "black"}
_SEPARATORS = re.compile(r"还有|以及|[和与，,、；;]")


def to_english(text: str) -> str:
    """The request with every Chinese word of the tables said in English and every joiner
    (和, 与, 还有, commas, 、) said as " and "; other Chinese characters become spaces."""
    text = _BACKGROUND_IS.sub(lambda m: f" {_BACKGROUND_OF[m.group(1)]} background ", text)
    text = _PHRASE_RE.sub(lambda m: f" {_ENGLISH_OF[m.group(0)]} ", text)
    text = _SEPARATORS.sub(" and ", text)
    return " ".join(CJK.sub(" ", text).split())

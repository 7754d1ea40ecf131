"""Chinese words of the starter world (worlds/shapes/CONTRACT.md, "In Chinese") and the reader's side:
`to_english` rewrites a Chinese or mixed request into English words the English reader understands."""

from __future__ import annotations

import re

from worlds.shapes.words import WHERE_WORDS

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

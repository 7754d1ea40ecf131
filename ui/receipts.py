"""The receipt of the picture shown, under the gallery: a small table (attribute, wanted, seen, ✓/✗) in the
language the browser asks for. The receipts come back from the browser (the Parameters box), so every
value is escaped and the table is bounded."""

from __future__ import annotations

import html
import re

import gradio as gr

from pipelines.judges.receipt import CROSS, TICK
from ui.i18n import wants_chinese

MAX_ROWS = 24
MAX_TEXT = 40
HEADERS = {"en": ("attribute", "wanted", "seen", ""), "zh": ("属性", "要求", "看到的", "")}
NOTE = {"en": "approximate: checked by CLIP and the captioner", "zh": "近似：由 CLIP 和图片描述模型检查"}
# the words a receipt uses, shown in Chinese (the world's first Chinese form of each, and the hub check's)
WORDS_ZH = {
    "background": "背景", "colour": "颜色", "shape": "形状", "size": "大小", "position": "位置",
    "style": "风格", "object count": "物体数量", "present": "存在", "count": "数量", "side": "位置",
    "red": "红色", "orange": "橙色", "yellow": "黄色", "green": "绿色", "cyan": "青色", "blue": "蓝色",
    "purple": "紫色", "pink": "粉色", "circle": "圆形", "square": "正方形", "triangle": "三角形",
    "cross": "十字", "large": "大", "small": "小", "center": "中间", "left": "左边", "right": "右边",
    "top": "上面", "bottom": "下面", "white": "白色", "black": "黑色", "gray": "灰色", "flat": "实心",
    "outline": "轮廓", "yes": "是", "no": "否", "nothing": "没有",
}  # fmt: skip


def _word(value, chinese: bool) -> str:
    text = "nothing" if value is None else str(value)[:MAX_TEXT]
    return WORDS_ZH.get(text, text) if chinese else text


def _attribute(name, chinese: bool) -> str:
    """'object2.colour' -> '2: colour' (颜色 in Chinese); a hub check's 'ball colour' -> 'ball colour'."""
    name = str(name)[:MAX_TEXT]
    number, dot, rest = name.partition(".")
    if dot and re.fullmatch(r"object\d", number):
        return f"{number[len('object') :]}: {_word(rest, chinese)}"
    noun, space, kind = name.rpartition(" ")
    if space and kind in WORDS_ZH and name != "object count":
        return f"{noun} {_word(kind, chinese)}"
    return _word(name, chinese)


def table(receipt, chinese: bool = False) -> str:
    """The receipt as an HTML table; "" when there is none (or it is not a list of rows)."""
    if not isinstance(receipt, list) or not receipt:
        return ""
    language = "zh" if chinese else "en"
    rows = [r for r in receipt[:MAX_ROWS] if isinstance(r, dict) and "attribute" in r]
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in HEADERS[language])
    body = "".join(
        f"<tr class='{'ok' if r.get('ok') else 'miss'}'><td>{html.escape(_attribute(r['attribute'], chinese))}</td>"
        f"<td>{html.escape(_word(r.get('wanted'), chinese))}</td><td>{html.escape(_word(r.get('seen'), chinese))}</td>"
        f"<td>{TICK if r.get('ok') else CROSS}</td></tr>"
        for r in rows
    )
    note = any(isinstance(r, dict) and r.get("approximate") for r in rows)
    caption = f"<caption>{NOTE[language]}</caption>" if note else ""
    return f"<table class='receipt'>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def shown(details, index, request=None) -> str:
    """The table of picture `index` of the run whose Parameters box is `details`."""
    receipts = details.get("receipts") if isinstance(details, dict) else None
    if not isinstance(receipts, list) or not isinstance(index, int) or not 0 <= index < min(len(receipts), 64):
        return ""
    return table(receipts[index], wants_chinese(request))


def first(details, request: gr.Request):
    """After a run: the first picture's receipt."""
    return shown(details, 0, request)


def picked(details, event: gr.SelectData, request: gr.Request):
    """A picture chosen in the gallery: its receipt."""
    return shown(details, event.index if isinstance(event.index, int) else 0, request)

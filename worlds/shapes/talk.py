"""What the conversation reader shares: the state one message is read against (`Talk`), refusals in both
languages, how objects are named in replies, and how a reference ("it", "the other one", "the red one",
"the left one") finds its objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from worlds.shapes.words import COLOUR_WORDS, SHAPE_WORDS, WHERE_WORDS
from worlds.shapes.world import WHERE, Obj, Scene

ZH_COLOUR = {
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "green": "绿色",
    "cyan": "青色",
    "blue": "蓝色",
    "purple": "紫色",
    "pink": "粉色",
}
ZH_SHAPE = {"circle": "圆形", "square": "正方形", "triangle": "三角形", "cross": "十字"}
ZH_SIZE = {"large": "大的", "small": "小的"}
ZH_WHERE = {"center": "在中间", "left": "在左边", "right": "在右边", "top": "在上面", "bottom": "在下面"}
ZH_BACKGROUND = {"white": "白色", "black": "黑色", "gray": "灰色"}
ZH_STYLE = {"flat": "实心", "outline": "轮廓"}

POSITION_WORDS = {
    "left": "left",
    "right": "right",
    "top": "top",
    "upper": "top",
    "bottom": "bottom",
    "lower": "bottom",
    "center": "center",
    "centre": "center",
    "middle": "center",
}
REF_SIZES = {"large": ["large", "big", "bigger", "larger", "huge"], "small": ["small", "smaller", "little", "tiny"]}
FILLERS = set(
    "the a an one ones object objects shape shapes thing things it its this that these those of which is are there "
    "in on at to picture image side please figure item piece guy colour size new same last latest remaining".split()
)
EVERY = re.compile(r"\b(?:both|them|all|everything|each|every)\b")


class Refused(Exception):
    """The message cannot be carried out; the sentence says why, in English and in Chinese."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.en, self.zh = en, zh


@dataclass
class Talk:
    scene: Scene | None  # the current picture as read; None before the first one
    focus: str | None  # the position of the object "it" names, or "background"
    zh: bool  # answer in Chinese
    seed: int

    def say(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    def focused(self) -> Obj | None:
        objects = self.scene.objects if self.scene else ()
        return next((o for o in objects if o.position == self.focus), None)


# ---------------------------------------------------------------- naming


def short(o: Obj, scene: Scene, zh: bool = False) -> str:
    """'the circle' when the shape is unique in the scene, else 'the red circle' (红色圆形)."""
    unique = sum(p.shape == o.shape for p in scene.objects) == 1
    if zh:
        return ZH_SHAPE[o.shape] if unique else ZH_COLOUR[o.colour] + ZH_SHAPE[o.shape]
    return f"the {o.shape}" if unique else f"the {o.colour} {o.shape}"


def phrase(o: Obj, zh: bool = False) -> str:
    """'a large red circle on the left' (一个大的红色圆形在左边)."""
    if zh:
        return f"一个{ZH_SIZE[o.size]}{ZH_COLOUR[o.colour]}{ZH_SHAPE[o.shape]}{ZH_WHERE[o.position]}"
    return f"a {o.size} {o.colour} {o.shape} {WHERE[o.position]}"


def listing(scene: Scene, zh: bool = False) -> str:
    """'a red circle and a blue cross' (红色圆形和蓝色十字)."""
    if zh:
        return "和".join(ZH_COLOUR[o.colour] + ZH_SHAPE[o.shape] for o in scene.objects)
    return " and ".join(f"a {o.colour} {o.shape}" for o in scene.objects)


# ---------------------------------------------------------------- references


def _pairs(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return sorted(((p, k) for k, words in table.items() for p in words), key=lambda pair: -len(pair[0]))


REF_TABLES = (
    ("position", _pairs(WHERE_WORDS | {"center": WHERE_WORDS["center"] + ["in the centre"]})),
    ("position", sorted(POSITION_WORDS.items(), key=lambda pair: -len(pair[0]))),
    ("colour", _pairs(COLOUR_WORDS)),
    ("shape", _pairs({k: v + [k + "s"] for k, v in SHAPE_WORDS.items()})),
    ("size", _pairs(REF_SIZES)),
)


def take(text: str, pairs: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The first listed phrase found as whole words, and the text without it."""
    for words, canonical in pairs:
        m = re.search(rf"\b{re.escape(words)}\b", text)
        if m:
            return canonical, " ".join((text[: m.start()] + " " + text[m.end() :]).split())
    return None, text


def ref_attributes(text: str) -> dict[str, str]:
    """What a reference states ({'colour': 'red', 'position': 'left'}); {} for 'it'. Words that name
    nothing in this world are refused, so that "the star" never falls back on "it"."""
    stated: dict[str, str] = {}
    for key, pairs in REF_TABLES:
        if key not in stated:
            value, text = take(text, pairs)
            if value:
                stated[key] = value
    unknown = [w for w in text.split() if w not in FILLERS and w != "other"]
    if unknown:
        raise Refused(
            f"'{' '.join(unknown)[:60]}' names nothing in this world; say e.g. 'the circle', 'the red one' or "
            "'the left one'.",
            f"'{' '.join(unknown)[:60]}' 不是这个世界里的东西；请说例如“圆形”“红色的”或“左边的”。",
        )
    return stated


def resolve(talk: Talk, text: str) -> list[Obj]:
    """The objects a reference names; refuses, saying why, when it names none or cannot tell which."""
    scene = talk.scene
    assert scene is not None
    if EVERY.search(text):
        return list(scene.objects)
    if re.search(r"\bother\b", text):
        return [_other(talk)]
    stated = ref_attributes(text)
    if not stated:
        return [_it(talk)]
    found = [o for o in scene.objects if all(getattr(o, k) == v for k, v in stated.items())]
    if not found:
        raise Refused(
            f"There is no {describe(stated)} in the picture; it shows {listing(scene)}.",
            f"画面里没有{describe(stated, True)}；画面里是{listing(scene, True)}。",
        )
    if len(found) > 1:
        a = found[0]
        raise Refused(
            f"There are two {describe(stated)}s, so I cannot tell which one you mean; say e.g. 'the {a.colour} one' "
            f"or 'the {a.position} one'.",
            f"有两个{describe(stated, True)}，不知道你指的是哪一个；"
            f"请说例如“{ZH_COLOUR[a.colour]}的”或“{ZH_WHERE[a.position][1:]}的”。",
        )
    return found


def _it(talk: Talk) -> Obj:
    scene = talk.scene
    assert scene is not None
    if len(scene.objects) == 1:
        return scene.objects[0]
    focused = talk.focused()
    if focused is None:
        raise Refused(
            "There are two objects and we have not talked about either yet, so I cannot tell which one 'it' is; "
            "say which, e.g. 'the left one' or 'the red one'.",
            "画面里有两个图形，还没说过是哪一个，所以不知道“它”指的是哪个；请说明，例如“左边的”或“红色的”。",
        )
    return focused


def _other(talk: Talk) -> Obj:
    scene = talk.scene
    assert scene is not None
    if len(scene.objects) == 1:
        raise Refused(
            "There is only one object in the picture, so there is no other one.", "画面里只有一个图形，没有另一个。"
        )
    focused = talk.focused()
    if focused is None:
        raise Refused(
            "'The other one' needs an object we have talked about, and we have not talked about either yet; "
            "say which, e.g. 'the left one' or 'the red one'.",
            "还没说过哪一个，所以不知道“另一个”是哪个；请说明，例如“左边的”或“红色的”。",
        )
    return next(o for o in scene.objects if o != focused)


def describe(stated: dict[str, str], zh: bool = False) -> str:
    """'small red circle on the left' for what a reference states."""
    if zh:
        words = [ZH_SIZE.get(stated.get("size", ""), ""), ZH_COLOUR.get(stated.get("colour", ""), "")]
        where = ZH_WHERE[stated["position"]] + "的" if "position" in stated else ""
        return where + "".join(words) + ZH_SHAPE.get(stated.get("shape", ""), "图形")
    words = [stated[k] for k in ("size", "colour") if k in stated] + [stated.get("shape", "object")]
    where = f" {WHERE[stated['position']]}" if "position" in stated else ""
    return " ".join(words) + where

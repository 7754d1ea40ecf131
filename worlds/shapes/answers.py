"""Questions about the current picture, answered from its reading (the scene parser's, passed in as the
scene): what is in it, how many objects, the colour / shape / size / place of one, the background, the
style, whether there is one, and yes-or-no claims ("is the square red?"). Chinese answers carry the
English word in brackets."""

from __future__ import annotations

import re

from worlds.base import ChatReading
from worlds.shapes.talk import (
    ZH_BACKGROUND,
    ZH_COLOUR,
    ZH_SHAPE,
    ZH_SIZE,
    ZH_STYLE,
    ZH_WHERE,
    Refused,
    Talk,
    listing,
    phrase,
    ref_attributes,
    resolve,
    short,
)
from worlds.shapes.values import read_value
from worlds.shapes.world import WHERE, Obj, sentence

SCENE = re.compile(
    r"\b(?:what (?:is|s|'s|do you see|can you see|does it show|did you draw|have you drawn|is there|is shown)"
    r"(?: (?:in|on) (?:the |this )?(?:picture|image|scene|canvas|drawing))?$|describe|what (?:is|s|'s) (?:in|on) "
    r"(?:the |this )?(?:picture|image|scene|canvas|drawing))"
)
QUESTION_WORDS = re.compile(
    r"\b(?:what|which|whats|what's|where|how big|how large|how small|is|are|was|does|do|has|have|kind of|"
    r"sort of|colour|shape|size|located|placed|sitting|sit|drawn|can you tell me|tell me)\b"
)
EXISTS = re.compile(r"^(?:is there|are there|do you see|can you see|do we have|is there any|any)\b")


def answer(talk: Talk, text: str) -> ChatReading:
    """The answer to a question (text: the English words of the message, without '?')."""
    scene = talk.scene
    assert scene is not None
    text = re.sub(r"^(?:in |on )?(?:the )?picture\b ?", "", text)  # 画面里的圆形… -> "picture circle …"
    if re.search(r"\bhow many\b", text):
        n = len(scene.objects)
        en = f"There {'is one object' if n == 1 else 'are two objects'}: {listing(scene)}."
        return _answer(talk, en, f"画面里有{'一' if n == 1 else '两'}个图形：{listing(scene, True)}（{n}）。")
    if SCENE.search(text):
        canonical = sentence(scene)
        return _answer(talk, canonical[0].upper() + canonical[1:], f"画面里是：{canonical}")
    if re.search(r"\b(?:background|backdrop)\b", text):
        return _claim_or_tell(talk, "background", scene.background, _value_in(text))
    value = read_value(text.split()[-1]) if text.split() else None
    if re.search(r"\bstyle\b", text) or (value and value[0] == "style"):  # one style for the whole picture
        return _claim_or_tell(talk, "style", scene.style, value[1] if value and value[0] == "style" else None)
    if re.search(r"\b(?:one|two|1|2|single|only)\b", text) and re.search(r"\b(?:objects?|shapes?|things?)\b", text):
        n = len(scene.objects)
        claimed = 1 if re.search(r"\b(?:one|1|single|only)\b", text) else 2
        en = f"{'Yes' if claimed == n else 'No'}, there {'is one object' if n == 1 else 'are two objects'}."
        zh = f"{'是的（yes）' if claimed == n else '不是（no）'}，画面里有{'一' if n == 1 else '两'}个图形（{n}）。"
        return _answer(talk, en, zh)
    if EXISTS.match(text):
        return _exists(talk, EXISTS.sub("", text))
    if choice := re.search(r"(\w+) or (\w+)$", text):  # "is the circle big or small": tell its size
        value = read_value(choice.group(2))
        if value and value[0] in ("colour", "shape", "size"):
            return _tell(talk, value[0], QUESTION_WORDS.sub(" ", text[: choice.start()]))
    for kind, pattern in (
        ("colour", r"\bcolour\b"),
        ("shape", r"\bshape\b"),
        ("size", r"\b(?:size|how big|how large|how small)\b"),
        ("position", r"\bwhere\b"),
    ):
        if re.search(pattern, text):
            return _tell(talk, kind, QUESTION_WORDS.sub(" ", text))
    if re.search(r"\b(?:what|which)\b", text):
        return _what(talk, QUESTION_WORDS.sub(" ", text))
    return _yes_no(talk, QUESTION_WORDS.sub(" ", text))


def _answer(talk: Talk, en: str, zh: str, focus: str | None = None) -> ChatReading:
    return ChatReading("answer", talk.say(en, zh), focus=focus if focus is not None else talk.focus)


def _value_in(text: str) -> str | None:
    for word in text.split():
        value = read_value(word)
        if value and value[0] == "colour":
            return value[1]
    return None


def _claim_or_tell(talk: Talk, kind: str, seen: str, claimed: str | None) -> ChatReading:
    if kind == "background":
        en, zh = f"the background is {seen}", f"背景是{ZH_BACKGROUND[seen]}（{seen}）"
        focus = "background"
    else:
        en, zh = f"the picture is in {seen} style", f"画面是{ZH_STYLE[seen]}风格（{seen} style）"
        focus = talk.focus
    if claimed is None:
        return _answer(talk, en[0].upper() + en[1:] + ".", zh + "。", focus)
    yes = claimed == seen
    return _answer(talk, f"{'Yes' if yes else 'No'}, {en}.", f"{'是的（yes）' if yes else '不是（no）'}，{zh}。", focus)


def _one(talk: Talk, ref: str) -> Obj:
    objects = resolve(talk, ref)
    if len(objects) > 1:
        raise Refused(
            "That asks about both objects; ask about one, e.g. 'the left one'.",
            "这问的是两个图形；请问其中一个，例如“左边的”。",
        )
    return objects[0]


ATTRIBUTE_EN = {"colour": "is {}", "shape": "is a {}", "size": "is {}", "position": "is {}"}


def _said(kind: str, o: Obj, zh: bool) -> str:
    """How an attribute of the object is said after its name: 'is red', 'is a square', 'is on the left'."""
    value = getattr(o, kind)
    if zh:
        word = {"colour": ZH_COLOUR, "shape": ZH_SHAPE, "size": ZH_SIZE, "position": ZH_WHERE}[kind][value]
        english = WHERE[value] if kind == "position" else value
        return f"{'' if kind == 'position' else '是'}{word}（{english}）"
    return ATTRIBUTE_EN[kind].format(WHERE[value] if kind == "position" else value)


def _tell(talk: Talk, kind: str, ref: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    o = _one(talk, ref)
    name, zh_name = short(o, scene), short(o, scene, True)
    if kind == "shape":  # not "the circle is a circle"
        name, zh_name = f"the {o.colour} one", f"{ZH_COLOUR[o.colour]}的那个"
    en = f"{name[0].upper()}{name[1:]} {_said(kind, o, False)}."
    return _answer(talk, en, f"{zh_name}{_said(kind, o, True)}。", o.position)


def _what(talk: Talk, ref: str) -> ChatReading:
    o = _one(talk, ref)
    return _answer(talk, f"It is {phrase(o)}.", f"那是{phrase(o, True)}（{phrase(o)}）。", o.position)


def _exists(talk: Talk, text: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    stated = ref_attributes(text)
    found = [o for o in scene.objects if all(getattr(o, k) == v for k, v in stated.items())]
    if not found:
        return _answer(
            talk,
            f"No, there is none; the picture shows {listing(scene)}.",
            f"没有（no）；画面里是{listing(scene, True)}（{listing(scene)}）。",
        )
    things = " and ".join(phrase(o) for o in found)
    focus = found[0].position if len(found) == 1 else talk.focus
    return _answer(
        talk, f"Yes, there is {things}.", f"有（yes），{'和'.join(phrase(o, True) for o in found)}（{things}）。", focus
    )


def _yes_no(talk: Talk, text: str) -> ChatReading:
    """'is the square red', 'circle large' (圆形大吗): the last value is the claim, the rest the reference."""
    words = text.split()
    for i in range(len(words)):
        value = read_value(" ".join(words[i:]))
        if value and value[0] in ("colour", "shape", "size", "position"):
            o = _one(talk, " ".join(words[:i]))
            kind, claimed = value
            yes = getattr(o, kind) == claimed
            scene = talk.scene
            assert scene is not None
            en = f"{'Yes' if yes else 'No'}, {short(o, scene)} {_said(kind, o, False)}."
            zh = f"{'是的（yes）' if yes else '不是（no）'}，{short(o, scene, True)}{_said(kind, o, True)}。"
            return _answer(talk, en, zh, o.position)
    raise Refused(
        "I did not understand the question; ask e.g. 'what is in the picture?', 'what colour is the circle?', "
        "'where is the square?' or 'how many objects are there?'.",
        "没听懂这个问题；可以问例如“画面里有什么？”“圆形是什么颜色？”“方块在哪里？”或“有几个图形？”。",
    )

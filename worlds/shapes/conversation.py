"""A conversation's message read against the current scene (World.converse): a new picture, a change of
the current one, a question, or a refusal that says why. English, Chinese and mixed messages.

References resolve against the scene and the focus (the object talked about last, by its position, or
"background"): "it", "the other one", "the square", "the red one", "the left one". "no, green" and a bare
value ("green", "bigger", "now outlined") apply to the focus. A change never lands on a guess: a reference
that names no object, or cannot tell which, and a change that changes nothing, are refused with a sentence.
Undo and redo are the pipeline's (pipelines/chat.py): they need the pictures, not the scene.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import numpy as np

from worlds.base import ChatReading, EditResult
from worlds.shapes import edits
from worlds.shapes.answers import answer
from worlds.shapes.messages import english, is_chinese
from worlds.shapes.requests import read_request
from worlds.shapes.talk import (
    ZH_BACKGROUND,
    ZH_COLOUR,
    ZH_SHAPE,
    ZH_SIZE,
    ZH_STYLE,
    ZH_WHERE,
    Refused,
    Talk,
    phrase,
    resolve,
    short,
)
from worlds.shapes.values import BACKGROUND_NAMES, read_value
from worlds.shapes.world import (
    CANVAS,
    COLOURS,
    OPPOSITE,
    SHAPES,
    SIZES,
    WHERE,
    Obj,
    Scene,
    parse_sentence,
    reading_order,
    sentence,
    shape_mask,
)

QUESTION = re.compile(r"^(?:what|which|where|how|is|are|does|do|did|can you see|can you tell|tell me|describe|any)\b")
OPENING = re.compile(
    r"^(?:(?:please|pls|ok|okay|now|then|and then|so|can you|could you|would you|will you|let us|just|hmm|hey|"
    r"great|nice|good|thanks|thank you|cool|perfect|yes|yeah|and(?! (?:a|an|one)\b))\b[ ,]*)+"
)
CORRECTION = re.compile(r"^(?:no|nope|not that|wrong|actually|i meant|i mean|rather|oops)\b[ ,]*")
SOFTENERS = re.compile(r"\b(?:a little bit|a little|a bit|slightly|much|even|a lot|please|instead|again|now|too)\b")
DRAW = re.compile(
    r"^(?:(?:draw|sketch|show me|create|render|generate|give me|new picture|start over|start again|picture of|"
    r"an image of|image of|i want|i would like|i'd like|can i have|how about|another picture)\b"
    r"(?!\s+(?:it|the|them|this|that|both|everything)\b)|(?:make|paint) (?:me )?(?:a|an|one|two|some)\b)"
)
ADD = re.compile(r"^(?:add|insert|include|also|plus)\b|^(?:and|with|put|place) (?:a|an|another|one more)\b")
REMOVE = re.compile(r"^(?:remove|delete|erase|take away|take out|get rid of|drop|lose|hide)\b")
MOVE = re.compile(r"^(?:move|shift|put|place)\b")
GROW = {"enlarge": "large", "grow": "large", "expand": "large", "shrink": "small", "reduce": "small"}
VERB = re.compile(
    r"^(?:make|turn|colour|paint|recolour|recolor|set|change|switch|transform|convert|redraw|draw|render|replace|swap)\b"
)
CHANGE = re.compile(rf"{ADD.pattern}|{REMOVE.pattern}|{VERB.pattern}|^(?:{'|'.join(GROW)})\b|^move\b")
CONNECTORS = ("into", "to", "with", "for", "as", "in", "by", "onto", "on", "at")
NOT_UNDERSTOOD = (
    "I did not understand '{}' as a picture, a change or a question; try e.g. 'draw a red ball on the left', "
    "'make it bigger', 'what colour is the ball?' or 'undo'.",
    "没听懂“{}”；可以说例如“画一个红色的球在左边”“把它变大”“球是什么颜色？”或“撤销”。",
)
NO_PICTURE = (
    "There is no picture yet; ask for one first, e.g. 'draw a red ball on the left'.",
    "还没有画；请先画一张，例如“画一个红色的球在左边”。",
)


def converse(scene_text: str | None, message: str, focus: str | None, seed: int = 0) -> ChatReading:
    scene = parse_sentence(scene_text) if scene_text else None
    talk = Talk(scene, focus if scene else None, is_chinese(message), seed)
    try:
        return _read(talk, message)
    except Refused as r:
        return ChatReading("refuse", talk.say(r.en, r.zh), focus=talk.focus)


def _read(talk: Talk, message: str) -> ChatReading:
    words = english(message).split()
    text = OPENING.sub("", " ".join(w for w in words if w != "?")).replace(",", " ")
    text = " ".join(CORRECTION.sub("", text.strip()).split())
    if not text:
        raise Refused(NOT_UNDERSTOOD[0].format(message.strip()[:60]), NOT_UNDERSTOOD[1].format(message.strip()[:60]))
    asked = "?" in words or re.search(r"\b(?:what|which|where|how many|how big)\b", text)
    asks = QUESTION.match(text) or (asked and not CHANGE.match(text))  # "can you make it green?" asks a change
    if talk.scene is not None and asks:
        return answer(talk, text)
    also = re.search(r"\b(?:too|as well|also|another|one more)\b", text) is not None
    text = " ".join(SOFTENERS.sub(" ", text).split())
    if talk.scene is None:
        if asks or CHANGE.match(text):
            if not DRAW.match(text):
                raise Refused(*NO_PICTURE)
        return _draw(talk, message)
    if DRAW.match(text) and not also:
        return _draw(talk, message)
    reading = _change(talk, text, also)
    if reading is not None:
        return reading
    if _describes(text):
        return _draw(talk, message)
    raise Refused(NOT_UNDERSTOOD[0].format(message.strip()[:60]), NOT_UNDERSTOOD[1].format(message.strip()[:60]))


def _describes(text: str) -> bool:
    request = read_request(text)
    return bool(request.stated()) and any(vars(o) != vars(type(o)()) for o in request.objects)


def _draw(talk: Talk, message: str) -> ChatReading:
    if not _describes(english(message)) and not DRAW.match(english(message)):
        raise Refused(NOT_UNDERSTOOD[0].format(message.strip()[:60]), NOT_UNDERSTOOD[1].format(message.strip()[:60]))
    return ChatReading("draw", talk.say("Here it is:", "画好了："), request=message.strip())


def _change(talk: Talk, text: str, also: bool) -> ChatReading | None:
    """The change the text asks for, or None when it is not one of the forms of a change."""
    if REMOVE.match(text):
        return _remove(talk, REMOVE.sub("", text))
    if ADD.match(text) or (also and DRAW.match(text)):
        return _add(talk, DRAW.sub("", ADD.sub("", text)))
    if MOVE.match(text):
        split = _split(MOVE.sub("", text))
        if split is None or split[1] != "position":
            raise Refused(NOT_UNDERSTOOD[0].format(text[:60]), NOT_UNDERSTOOD[1].format(text[:60]))
        return _set(talk, *split)
    verb = text.split()[0]
    if verb in GROW:
        return _set(talk, text[len(verb) :], "size", GROW[verb])
    if VERB.match(text):
        if described := _described(VERB.sub("", text)):  # "make it a big green square": several at once
            return _objects(talk, resolve(talk, described[0]), described[1])
        split = _split(VERB.sub("", text))
        if split is not None:
            return _set(talk, *split)
        # a change of something this world does not have: never a new picture instead
        raise Refused(NOT_UNDERSTOOD[0].format(text[:60]), NOT_UNDERSTOOD[1].format(text[:60]))
    if re.match(r"^(?:it|the|this|that|both|them)\b", text) or read_value(text):
        split = _split(text)
        return _set(talk, *split) if split else None
    return None


def _split(text: str) -> tuple[str, str, str] | None:
    """(reference, kind, value) of 'the red circle green', 'the circle into a square', 'it bigger'."""
    words = text.split()
    for i, word in enumerate(words):
        if word in CONNECTORS and (value := read_value(" ".join(words[i + 1 :]))):
            return " ".join(words[:i]), *value
    for i in range(len(words)):
        if value := read_value(" ".join(words[i:])):
            return " ".join(words[:i]), *value
    return None


def _described(text: str) -> tuple[str, dict[str, str]] | None:
    """(reference, attributes) of 'it a big green square', 'the circle into a small blue cross'."""
    words = text.split()
    for i, word in enumerate(words):
        if word in ("a", "an", *CONNECTORS):
            wanted = read_request(" ".join(words[i:])).objects
            attributes = {k: v for k, v in vars(wanted[0]).items() if v and k != "position"}
            if len(wanted) == 1 and len(attributes) >= 2 and not wanted[0].position:
                return " ".join(words[:i]), attributes
    return None


def _set(talk: Talk, ref: str, kind: str, value: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    about_background = re.search(r"\b(?:background|backdrop)\b", ref) is not None
    if kind == "colour" and value in BACKGROUND_NAMES:
        if about_background or (not ref.strip() and talk.focus == "background"):
            kind, value = "background", BACKGROUND_NAMES[value]
        else:
            raise Refused(
                f"Objects come in {', '.join(COLOURS)}; {value} is only a background colour.",
                f"图形的颜色只有{'、'.join(ZH_COLOUR.values())}；{value}只能用作背景色。",
            )
    elif about_background and kind != "background":
        raise Refused("The background can be white, black or gray.", "背景只能是白色、黑色或灰色。")
    if kind == "background":
        return _background(talk, value)
    if kind == "style":
        return _style(talk, value)
    targets = resolve(talk, ref)
    if kind == "position":
        return _move(talk, targets, value)
    return _objects(talk, targets, {kind: value})


def _objects(talk: Talk, targets: list[Obj], attributes: dict[str, str]) -> ChatReading:
    """The targets with the attributes (colour, shape, size) set; refused when nothing would change or two
    objects would share a colour."""
    scene = talk.scene
    assert scene is not None
    colour = attributes.get("colour")
    if colour and (len(targets) > 1 or any(o.colour == colour for o in scene.objects if o not in targets)):
        raise Refused(
            f"The two objects never share a colour, and the other one is {colour}; pick another colour.",
            f"两个图形不能同色，另一个已经是{ZH_COLOUR[colour]}；请换一种颜色。",
        )
    en_value, zh_value = _value_words(attributes)
    changed = [o for o in targets if any(getattr(o, k) != v for k, v in attributes.items())]
    if not changed:
        raise Refused(
            f"{short(targets[0], scene).capitalize()} is already {en_value}, so nothing would change.",
            f"{short(targets[0], scene, True)}已经是{zh_value}了，没有可改的。",
        )
    new = [replace(o, **attributes) for o in changed]
    edited = replace(scene, objects=tuple(dict(zip(changed, new)).get(o, o) for o in scene.objects))
    names = " and ".join(short(o, scene) for o in changed)
    zh_names = "和".join(short(o, scene, True) for o in changed)
    en = f"Done: {names} {'is' if len(changed) == 1 else 'are'} {en_value} now."
    kind = "+".join(attributes)
    return _changed(
        talk, edited, kind, tuple(changed), tuple(new), new[0].position, en, f"好了：{zh_names}现在是{zh_value}。"
    )


def _value_words(attributes: dict[str, str]) -> tuple[str, str]:
    """('a large green square', '大的绿色正方形'), or one value alone ('green', 'a square')."""
    words = [attributes[k] for k in ("size", "colour", "shape") if k in attributes]
    zh = "".join(
        table[attributes[k]]
        for k, table in (("size", ZH_SIZE), ("colour", ZH_COLOUR), ("shape", ZH_SHAPE))
        if k in attributes
    )
    en = " ".join(words)
    return (f"a {en}" if "shape" in attributes else en), zh


def _changed(talk, edited: Scene, kind, old, new, focus, en: str, zh: str) -> ChatReading:
    scene = talk.scene
    if kind in ("background", "style"):
        region = edits.region(scene, edits.Edit(edited, kind, old, new))
    else:  # the changed objects as drawn, before and after: an outline's inside keeps its pixels
        region = np.zeros((CANVAS, CANVAS), bool)
        for o, style in [(o, scene.style) for o in old] + [(o, edited.style) for o in new]:
            region |= shape_mask(o.shape, o.size, o.position, style)
    change = EditResult(sentence(reading_order(edited).validate()), kind, region)
    return ChatReading("change", talk.say(en, zh), change=change, focus=focus)


def _background(talk: Talk, value: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    if scene.background == value:
        raise Refused(f"The background is already {value}.", f"背景已经是{ZH_BACKGROUND[value]}了。")
    edited = replace(scene, background=value)
    en, zh = f"Done: the background is {value} now.", f"好了：背景现在是{ZH_BACKGROUND[value]}。"
    return _changed(talk, edited, "background", (), (), "background", en, zh)


def _style(talk: Talk, value: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    if scene.style == value:
        raise Refused(f"The picture is already in {value} style.", f"画面已经是{ZH_STYLE[value]}风格了。")
    edited = replace(scene, style=value)
    en, zh = f"Done: the picture is in {value} style now.", f"好了：画面现在是{ZH_STYLE[value]}风格。"
    return _changed(talk, edited, "style", scene.objects, scene.objects, talk.focus, en, zh)


def _remove(talk: Talk, ref: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    targets = resolve(talk, ref)
    if len(scene.objects) == 1 or len(targets) > 1:
        raise Refused(
            "A picture needs at least one object, so I cannot remove that.", "画面里至少要有一个图形，所以不能删掉。"
        )
    kept = tuple(o for o in scene.objects if o not in targets)
    edited = replace(scene, objects=kept)
    en, zh = f"Done: I removed {short(targets[0], scene)}.", f"好了：去掉了{short(targets[0], scene, True)}。"
    return _changed(talk, edited, "remove", tuple(targets), (), kept[0].position, en, zh)


def _move(talk: Talk, targets: list[Obj], position: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    o = targets[0]
    if len(scene.objects) > 1:
        raise Refused(
            "Two objects always sit on opposite sides, so I can only move an object that is alone.",
            "两个图形总是在相对的两边，只能移动单独的一个图形。",
        )
    if o.position == position:
        raise Refused(
            f"{short(o, scene).capitalize()} is already {WHERE[position]}.", f"它已经{ZH_WHERE[position]}了。"
        )
    moved = replace(o, position=position)
    edited = replace(scene, objects=(moved,))
    en, zh = (
        f"Done: {short(o, scene)} is {WHERE[position]} now.",
        f"好了：{short(o, scene, True)}现在{ZH_WHERE[position]}。",
    )
    return _changed(talk, edited, "move", (o,), (moved,), position, en, zh)


def _add(talk: Talk, text: str) -> ChatReading:
    scene = talk.scene
    assert scene is not None
    if len(scene.objects) == 2:
        raise Refused(
            "The picture already holds two objects, the most it can; remove one first.",
            "画面里已经有两个图形，最多就是两个；请先去掉一个。",
        )
    (there,) = scene.objects
    wanted = read_request(text).objects[0]
    if wanted.colour == there.colour:
        raise Refused(
            f"{short(there, scene).capitalize()} is {there.colour} already, and two objects never share a colour; "
            "pick another colour.",
            f"{short(there, scene, True)}已经是{ZH_COLOUR[there.colour]}，两个图形不能同色；请换一种颜色。",
        )
    place, moved_to = _places(scene, there, wanted.position)
    rng = random.Random(talk.seed)
    new = Obj(
        wanted.colour or rng.choice([c for c in COLOURS if c != there.colour]),
        wanted.shape or rng.choice(SHAPES),
        wanted.size or rng.choice(list(SIZES)),
        place,
    )
    moved = replace(there, position=moved_to)
    edited = replace(scene, objects=(moved, new))
    old, news = ((there,), (new, moved)) if moved != there else ((), (new,))
    en, zh = f"Done: I added {phrase(new)}", f"好了：加了{phrase(new, True)}"
    if moved != there:
        en += f" and moved {short(there, scene)} {WHERE[moved_to].replace('on the', 'to the')} to make room"
        zh += f"，并把{short(there, scene, True)}移到{ZH_WHERE[moved_to][1:]}"
    return _changed(talk, edited, "add", old, news, place, en + ".", zh + "。")


def _places(scene: Scene, there: Obj, wanted: str | None) -> tuple[str, str]:
    """(the new object's position, the existing object's): two objects sit on opposite sides."""
    if there.position == "center":
        place = wanted if wanted in OPPOSITE else "right"
        if wanted == "center":
            raise _no_room(scene, there)
        return place, OPPOSITE[place]
    if wanted not in (None, OPPOSITE[there.position]):
        raise _no_room(scene, there)
    return OPPOSITE[there.position], there.position


def _no_room(scene: Scene, there: Obj) -> Refused:
    where = OPPOSITE.get(there.position, "right")
    return Refused(
        f"Two objects sit on opposite sides: with {short(there, scene)} {WHERE[there.position]}, a second one goes "
        f"{WHERE[where]}.",
        f"两个图形要在相对的两边：{short(there, scene, True)}{ZH_WHERE[there.position]}，第二个只能{ZH_WHERE[where]}。",
    )

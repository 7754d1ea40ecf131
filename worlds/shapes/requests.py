"""Free-form requests in the starter world: a generator of the ways people ask, and a reader
that recovers which attributes a request states.

A request states a subset of a scene's attributes; `Request` holds that subset, with None for
every attribute left out.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, replace

from worlds.shapes.words import (
    BACKGROUND_WORDS,
    COLOUR_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    UNSTATED_SHAPE_WORDS,
    WHERE_WORDS,
)
from worlds.shapes.world import BACKGROUNDS, COLOURS, OPPOSITE, POSITIONS, SHAPES, SIZES, STYLES, Obj, Scene
from worlds.shapes.zh import has_chinese, to_english

STYLE_ADJECTIVES = {"flat": ["filled", "solid", "flat"], "outline": ["outlined", "outline"]}
STYLE_PHRASES = {
    "flat": ["flat style", "in flat style", "filled", "solid"],
    "outline": ["outline style", "in outline style", "outlined", "line drawing", "as a line drawing"],
}
OPENERS = [
    "",
    "",
    "",
    "draw",
    "please draw",
    "paint",
    "show me",
    "i want",
    "can you draw",
    "make",
    "give me",
    "i'd like",
    "render",
    "create",
    "picture of",
    "an image of",
]


@dataclass(frozen=True)
class ObjRequest:
    colour: str | None = None
    shape: str | None = None
    size: str | None = None
    position: str | None = None


@dataclass(frozen=True)
class Request:
    objects: tuple[ObjRequest, ...]
    background: str | None = None
    style: str | None = None

    def stated(self) -> dict[str, str]:
        """Every stated attribute, keyed like 'background' or 'object1.colour'."""
        out = {k: v for k, v in (("background", self.background), ("style", self.style)) if v}
        for i, o in enumerate(self.objects, 1):
            out |= {f"object{i}.{k}": v for k, v in vars(o).items() if v}
        return out

    def agrees_with(self, scene: Scene) -> dict[str, bool]:
        """For each stated attribute, and the object count, whether the scene has it; the scene's
        objects are paired with the requested ones in the order that agrees best."""
        best = None
        for objects in itertools.permutations(scene.objects):
            have = Request(tuple(ObjRequest(**vars(o)) for o in objects), scene.background, scene.style).stated()
            agrees = {k: have.get(k) == v for k, v in self.stated().items()}
            if best is None or sum(agrees.values()) > sum(best.values()):
                best = agrees
        best = best if best is not None else {k: False for k in self.stated()}
        return best | {"object count": len(scene.objects) == len(self.objects)}


def stated_subset(scene: Scene, rng: random.Random, keep: float) -> Request:
    """The request that states each attribute of the scene with probability `keep`."""
    pick = lambda v: v if rng.random() < keep else None  # noqa: E731
    objects = tuple(ObjRequest(pick(o.colour), pick(o.shape), pick(o.size), pick(o.position)) for o in scene.objects)
    return Request(objects, pick(scene.background), pick(scene.style))


# ---------------------------------------------------------------- the generator


def _article(next_word: str, rng: random.Random) -> str:
    art = rng.choice(["a", "a", "a", "", "one"])
    return "an" if art == "a" and next_word[:1] in "aeiou" else art


def _object_words(o: ObjRequest, rng: random.Random, style_adjective: str) -> str:
    adjectives = [
        w
        for w in (
            rng.choice(SIZE_WORDS[o.size]) if o.size else "",
            rng.choice(COLOUR_WORDS[o.colour]) if o.colour else "",
        )
        if w
    ]
    if rng.random() < 0.3:
        adjectives.reverse()
    if style_adjective:
        adjectives.insert(0 if rng.random() < 0.7 else len(adjectives), style_adjective)
    noun = rng.choice(SHAPE_WORDS[o.shape]) if o.shape else rng.choice(UNSTATED_SHAPE_WORDS)
    head = " ".join(adjectives + [noun])
    head = " ".join(w for w in (_article(head, rng), head) if w)
    if not o.position:
        return head
    where = rng.choice(WHERE_WORDS[o.position])
    return f"{where} {head}" if rng.random() < 0.15 else f"{head} {where}"


def freeform(request: Request, rng: random.Random) -> str:
    """One way a person might ask for what `request` states."""
    style_as_adjective = request.style and rng.random() < 0.4
    objects = []
    for i, o in enumerate(request.objects):
        adjective = rng.choice(STYLE_ADJECTIVES[request.style]) if style_as_adjective and i == 0 else ""
        objects.append(_object_words(o, rng, adjective))
    body = " and ".join(objects)
    if len(objects) == 2 and rng.random() < 0.25:
        body = rng.choice(["two shapes: ", "two shapes ", "two objects: "]) + body
    tail = []
    if request.background:
        bg = rng.choice(BACKGROUND_WORDS[request.background])
        tail.append(rng.choice(["on a ", "on ", "against a ", "with a ", ""]) + bg)
    if request.style and not style_as_adjective:
        tail.append(rng.choice(STYLE_PHRASES[request.style]))
    rng.shuffle(tail)
    text = body
    for part in tail:
        text += rng.choice([" ", ", "]) + part
    opener = rng.choice(OPENERS)
    text = f"{opener} {text}".strip()
    if rng.random() < 0.1:
        text += rng.choice([" please", ".", "!"])
    return text


# ---------------------------------------------------------------- the reader


def _index(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(phrase, canonical) pairs, longest phrase first so 'plus sign' wins over 'plus'."""
    pairs = [(p, k) for k, phrases in table.items() for p in phrases]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


_SIZES, _COLOURS, _SHAPES, _WHERE = map(_index, (SIZE_WORDS, COLOUR_WORDS, SHAPE_WORDS, WHERE_WORDS))
_BACKGROUNDS = _index(BACKGROUND_WORDS | {"black": ["dark backdrop"]})
_STYLES = _index({"flat": ["flat", "filled", "solid"], "outline": ["outline", "outlined", "line drawing"]})


def _find(text: str, pairs: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The first listed phrase found as whole words, and the text with it blanked out."""
    for phrase, canonical in pairs:
        m = re.search(rf"\b{re.escape(phrase)}\b", text)
        if m:
            return canonical, text[: m.start()] + " " + text[m.end() :]
    return None, text


def read_request(text: str) -> Request:
    """The attributes a free-form (or canonical) request states, in English, in Chinese, or in
    English with Chinese words (worlds/shapes/zh.py)."""
    chinese = has_chinese(text)
    text = to_english(text) if chinese else text
    text = " " + " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split()) + " "
    background, text = _find(text, _BACKGROUNDS)
    if background is None:  # "on a grey background" with the colour after a comma etc.
        m = re.search(r"\b(black|white|gray|grey|dark)\b(?= (?:background|backdrop))", text)
        if m:
            background = {"grey": "gray", "dark": "black"}.get(m.group(1), m.group(1))
    style, text = _find(text, _STYLES)
    objects = []
    for part in re.split(r"\band\b", text):
        size, part = _find(part, _SIZES)
        colour, part = _find(part, _COLOURS)
        shape, part = _find(part, _SHAPES)
        position, part = _find(part, _WHERE)
        stated = ObjRequest(colour, shape, size, position)
        named = re.search(r"\b(shape|object|thing)\b", part) is not None
        if chinese and stated == ObjRequest(position=position) and not named and objects and not objects[-1].position:
            objects[-1] = replace(objects[-1], position=position)  # "一个红色圆形，在左边": the comma split one object
        elif stated != ObjRequest() or named:
            objects.append(stated)
    return Request(tuple(objects[:2]) or (ObjRequest(),), background, style)


def complete(request: Request, rng: random.Random) -> Scene:
    """A scene with every stated attribute, the rest chosen at random within the world's rules."""
    objs = request.objects
    bg = request.background or rng.choice(list(BACKGROUNDS))
    style = request.style or rng.choice(STYLES)
    if len(objs) == 1:
        o = objs[0]
        return Scene(
            bg,
            style,
            (
                Obj(
                    o.colour or rng.choice(list(COLOURS)),
                    o.shape or rng.choice(SHAPES),
                    o.size or rng.choice(list(SIZES)),
                    o.position or rng.choice(list(POSITIONS)),
                ),
            ),
        )
    a, b = objs
    first = (
        a.position
        if a.position in OPPOSITE
        else (OPPOSITE[b.position] if b.position in OPPOSITE else rng.choice(list(OPPOSITE)))
    )
    colour_a = a.colour or rng.choice([c for c in COLOURS if c != b.colour])
    colour_b = b.colour if b.colour and b.colour != colour_a else rng.choice([c for c in COLOURS if c != colour_a])
    return Scene(
        bg,
        style,
        (
            Obj(colour_a, a.shape or rng.choice(SHAPES), a.size or rng.choice(list(SIZES)), first),
            Obj(colour_b, b.shape or rng.choice(SHAPES), b.size or rng.choice(list(SIZES)), OPPOSITE[first]),
        ),
    )

"""Edit instructions in the starter world (worlds/shapes/CONTRACT.md, section 4 "Edits").

`apply(scene, instruction)` reads an instruction against the scene a picture shows and returns an
`Edit`: the edited scene, the kind of change, and which objects of the old and new scene changed.
An instruction the world cannot carry out raises `EditRefused` with one sentence for the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from worlds.shapes.requests import COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, WHERE_WORDS
from worlds.shapes.world import CANVAS, COLOURS, Obj, Scene, shape_mask

KINDS = ("colour", "shape", "size", "remove", "background", "style")
BACKGROUND_NAMES = {"white": "white", "black": "black", "dark": "black", "gray": "gray", "grey": "gray"}
STYLE_NAMES = {
    "flat": "flat",
    "filled": "flat",
    "solid": "flat",
    "outline": "outline",
    "outlined": "outline",
    "line drawing": "outline",
    "a line drawing": "outline",
}
SIZE_CHANGES = {"bigger": "large", "larger": "large", "smaller": "small"}
POSITION_ADJECTIVES = {
    "left": "left",
    "right": "right",
    "top": "top",
    "bottom": "bottom",
    "center": "center",
    "centre": "center",
    "middle": "center",
}
NOUNS = ("one", "object", "shape", "thing")
EXAMPLES = (
    "'make the circle blue', 'turn the left one into a square', 'remove the red one' or 'make the background black'"
)


class EditRefused(ValueError):
    """The instruction cannot be carried out on this picture; the message is one sentence."""


class _NotAForm(Exception):
    """The instruction only looked like one of the forms."""


@dataclass(frozen=True)
class Edit:
    scene: Scene  # the edited scene
    kind: str  # one of KINDS
    old: tuple[Obj, ...]  # objects of the old scene that changed or went away
    new: tuple[Obj, ...]  # objects of the new scene that changed


def _words(pairs: dict[str, list[str]]) -> list[tuple[str, str]]:
    return sorted(((p, k) for k, phrases in pairs.items() for p in phrases), key=lambda pair: -len(pair[0]))


_COLOURS = _words(COLOUR_WORDS)
_SHAPES = _words(SHAPE_WORDS)
_SIZES = _words(SIZE_WORDS)
_WHERE = _words(WHERE_WORDS | {"center": WHERE_WORDS["center"] + ["in the centre"]})
_COLOUR_RE = "|".join(re.escape(p) for p, _ in _COLOURS)
_SHAPE_RE = "|".join(re.escape(p) for p, _ in _SHAPES)
_STYLE_RE = "|".join(re.escape(p) for p in sorted(STYLE_NAMES, key=len, reverse=True))
_FORMS = [
    ("background", re.compile(r"^(?:make|turn|colou?r|paint) the (?:background|backdrop) (\w+)$")),
    ("style", re.compile(rf"^make (?:it|the picture|everything) (?:in )?({_STYLE_RE})(?: style)?$")),
    ("size", re.compile(r"^make (the .+|it) (bigger|larger|smaller)$")),
    ("shape", re.compile(rf"^(?:turn|change) (the .+|it) into (?:a |an )?({_SHAPE_RE})$")),
    ("shape", re.compile(rf"^replace (the .+|it) with (?:a |an )?({_SHAPE_RE})$")),
    ("remove", re.compile(r"^(?:remove|delete) (the .+)$")),
    ("colour", re.compile(r"^(?:make|turn|colou?r|paint) (the .+|it) (\w+)$")),
]


def normalise(instruction: str) -> str:
    text = " ".join(re.sub(r"[^a-z ]", " ", instruction.lower()).split())
    text = re.sub(r"^(?:please|can you|could you) ", "", text)
    return re.sub(r" please$", "", text)


def apply(scene: Scene, instruction: str) -> Edit:
    """The edit `instruction` asks of `scene`; raises EditRefused with one sentence when it cannot be done."""
    text = normalise(instruction)
    for kind, pattern in _FORMS:
        m = pattern.match(text)
        if m:
            try:
                return _APPLY[kind](scene, *m.groups())
            except _NotAForm:
                break
    raise EditRefused(f"'{instruction.strip()[:80]}' is not an edit this world understands; try {EXAMPLES}.")


def _background(scene: Scene, word: str) -> Edit:
    if word not in BACKGROUND_NAMES:
        raise EditRefused(f"The background can be white, black or gray, not {word}.")
    return Edit(replace(scene, background=BACKGROUND_NAMES[word]), "background", (), ())


def _style(scene: Scene, word: str) -> Edit:
    return Edit(replace(scene, style=STYLE_NAMES[word]), "style", scene.objects, scene.objects)


def _size(scene: Scene, ref: str, word: str) -> Edit:
    return _change(scene, ref, "size", size=SIZE_CHANGES[word])


def _shape(scene: Scene, ref: str, word: str) -> Edit:
    return _change(scene, ref, "shape", shape=dict(_SHAPES)[word])


def _colour(scene: Scene, ref: str, word: str) -> Edit:
    colours = dict(_COLOURS)
    if word in BACKGROUND_NAMES:
        raise EditRefused(f"Objects come in {', '.join(COLOURS)}; {word} is only a background colour.")
    if word not in colours:
        raise _NotAForm
    target = resolve(scene, ref)
    others = [o for o in scene.objects if o != target]
    if any(o.colour == colours[word] for o in others):
        raise EditRefused(
            f"The other object is already {colours[word]}, and two objects never share a colour; pick another colour."
        )
    return _change(scene, ref, "colour", colour=colours[word])


def _remove(scene: Scene, ref: str) -> Edit:
    target = resolve(scene, ref)
    if len(scene.objects) == 1:
        raise EditRefused(
            "The picture holds only this one object and a picture needs at least one, so it cannot be removed."
        )
    kept = tuple(o for o in scene.objects if o != target)
    return Edit(replace(scene, objects=kept), "remove", (target,), ())


def _change(scene: Scene, ref: str, kind: str, **attributes) -> Edit:
    target = resolve(scene, ref)
    changed = replace(target, **attributes)
    objects = tuple(changed if o == target else o for o in scene.objects)
    edited = replace(scene, objects=objects)
    return Edit(edited, kind, (target,), (changed,)) if changed != target else Edit(edited, kind, (), ())


_APPLY = {
    "background": _background,
    "style": _style,
    "size": _size,
    "shape": _shape,
    "colour": _colour,
    "remove": _remove,
}


# ---------------------------------------------------------------- references


def _take(text: str, pairs: list[tuple[str, str]]) -> tuple[str | None, str]:
    for phrase, canonical in pairs:
        m = re.search(rf"\b{re.escape(phrase)}\b", text)
        if m:
            return canonical, " ".join((text[: m.start()] + " " + text[m.end() :]).split())
    return None, text


def read_ref(ref: str) -> dict[str, str]:
    """The attributes a reference like 'the red one' or 'the object on the left' states; raises
    EditRefused when it holds words that name nothing."""
    text = " " + ref + " "
    stated = {}
    for key, pairs in (("position", _WHERE), ("colour", _COLOURS), ("shape", _SHAPES), ("size", _SIZES)):
        value, text = _take(text, pairs)
        if value:
            stated[key] = value
    words = text.split()
    if words[:1] == ["the"]:
        words = words[1:]
    if words and words[0] in POSITION_ADJECTIVES and "position" not in stated:  # "the left one"
        stated["position"] = POSITION_ADJECTIVES[words.pop(0)]
    if words in ([], *([n] for n in NOUNS)) and (stated or words):
        return stated
    raise EditRefused(f"'{ref}' does not name an object; say e.g. 'the circle', 'the red one' or 'the left one'.")


def resolve(scene: Scene, ref: str) -> Obj:
    """The one object `ref` names; raises EditRefused when it names none or more than one."""
    if ref == "it":
        if len(scene.objects) == 1:
            return scene.objects[0]
        raise EditRefused("There are two objects; say which one, e.g. 'the left one' or 'the red one'.")
    stated = read_ref(ref)
    found = [o for o in scene.objects if all(getattr(o, k) == v for k, v in stated.items())]
    described = _describe(stated)
    if not found:
        raise EditRefused(
            f"There is no {_with_place(stated, described)} in the picture; it shows "
            f"{' and '.join(f'a {o.colour} {o.shape}' for o in scene.objects)}."
        )
    if len(found) > 1:
        raise EditRefused(
            f"There are two {described}s; say which one, e.g. 'the {found[0].colour} one' or "
            f"'the one {WHERE_WORDS[found[0].position][0]}'."
        )
    return found[0]


def _describe(stated: dict[str, str]) -> str:
    return " ".join([stated[k] for k in ("size", "colour") if k in stated] + [stated.get("shape", "object")])


def _with_place(stated: dict[str, str], described: str) -> str:
    return f"{described} {WHERE_WORDS[stated['position']][0]}" if "position" in stated else described


# ---------------------------------------------------------------- regions


def region(old: Scene, edit: Edit) -> np.ndarray:
    """The pixels (CANVAS x CANVAS, bool) that redrawing must cover: the changed objects' old and new
    footprints; for a background change every pixel no object draws on; for a style change every object."""
    if edit.kind == "background":
        drawn = np.zeros((CANVAS, CANVAS), bool)
        for o in old.objects:
            drawn |= shape_mask(o.shape, o.size, o.position, old.style)
        return ~drawn
    mask = np.zeros((CANVAS, CANVAS), bool)
    for o in edit.old + edit.new:
        mask |= shape_mask(o.shape, o.size, o.position, "flat")
    return mask

"""Free-form requests: the generator says things every way the page lists; the reader hears them."""

import random

import pytest

from worlds.shapes.requests import ObjRequest, Request, complete, freeform, read_request, stated_subset
from worlds.shapes.world import OPPOSITE, parse_sentence, random_scene, sentence


def test_reader_recovers_what_the_generator_states():
    rng = random.Random(0)
    for _ in range(3000):
        scene = random_scene(rng)
        request = stated_subset(scene, rng, rng.uniform(0.2, 1.0))
        assert read_request(freeform(request, rng)) == request


@pytest.mark.parametrize(
    "text,expected",
    [
        ("big red ball on the left", Request((ObjRequest("red", "circle", "large", "left"),))),
        (
            "an outlined tiny blue box up top on a dark background",
            Request((ObjRequest("blue", "square", "small", "top"),), "black", "outline"),
        ),
        (
            "two shapes: a green triangle to the left and a violet plus to the right",
            Request((ObjRequest("green", "triangle", None, "left"), ObjRequest("purple", "cross", None, "right"))),
        ),
        (
            "a huge turquoise disc in the middle, grey backdrop, solid",
            Request((ObjRequest("cyan", "circle", "large", "center"),), "gray", "flat"),
        ),
        (
            "little orange triangular shape near the bottom on a white backdrop, line drawing",
            Request((ObjRequest("orange", "triangle", "small", "bottom"),), "white", "outline"),
        ),
        (
            "a pink plus sign centered, filled, black backdrop",
            Request((ObjRequest("pink", "cross", None, "center"),), "black", "flat"),
        ),
        ("yellow block down low", Request((ObjRequest("yellow", "square", None, "bottom"),))),
        (
            "a large red circle on the left on a gray background, outline style",
            Request((ObjRequest("red", "circle", "large", "left"),), "gray", "outline"),
        ),
    ],
)
def test_every_synonym_of_the_page(text, expected):
    assert read_request(text) == expected


def test_generator_uses_every_synonym():
    rng = random.Random(1)
    said = " ".join(freeform(stated_subset(random_scene(rng), rng, 1.0), rng) for _ in range(4000))
    for phrase in [
        "ball",
        "disc",
        "box",
        "block",
        "triangular shape",
        "plus sign",
        "big",
        "huge",
        "little",
        "tiny",
        "in the middle",
        "centered",
        "on the left side",
        "to the left",
        "on the right side",
        "to the right",
        "near the top",
        "up top",
        "near the bottom",
        "down low",
        "violet",
        "turquoise",
        "grey",
        "dark background",
        "black backdrop",
        "white backdrop",
        "gray backdrop",
        "grey backdrop",
        "filled",
        "solid",
        "outlined",
        "line drawing",
    ]:
        assert phrase in said, phrase


def test_complete_keeps_what_is_stated_and_obeys_the_world():
    rng = random.Random(2)
    for _ in range(2000):
        scene = random_scene(rng)
        request = stated_subset(scene, rng, rng.uniform(0.0, 1.0))
        filled = complete(request, rng)
        assert parse_sentence(sentence(filled)) == filled  # valid: colours differ, sides opposite
        assert all(request.agrees_with(filled).values())
        if len(filled.objects) == 2:
            assert OPPOSITE[filled.objects[0].position] == filled.objects[1].position

"""Edit instructions in the starter world (worlds/shapes/edits.py): every form, every kind of
reference, every refusal."""

import numpy as np
import pytest

from worlds.shapes import SHAPES_WORLD
from worlds.shapes.edits import EditRefused, apply, region
from worlds.shapes.world import Obj, Scene, parse_sentence, render_pil, sentence, shape_mask

TWO = parse_sentence(
    "a large red circle on the left and a small blue cross on the right on a gray background, outline style"
)
ONE = parse_sentence("a small green triangle at the top on a white background, flat style")
RED, BLUE = TWO.objects


def edited(scene: Scene, instruction: str) -> Scene:
    return apply(scene, instruction).scene.validate()


@pytest.mark.parametrize(
    "instruction",
    [
        "make the circle purple",
        "turn the circle violet",
        "colour the circle purple",
        "color the ball purple",
        "Please make the circle purple.",
    ],
)
def test_colour_forms(instruction):
    assert edited(TWO, instruction).objects == (Obj("purple", "circle", "large", "left"), BLUE)


@pytest.mark.parametrize(
    "instruction",
    [
        "turn the circle into a square",
        "replace the circle with a box",
        "turn the ball into a block",
        "replace the disc with a square",
    ],
)
def test_shape_forms_keep_colour_size_and_position(instruction):
    assert edited(TWO, instruction).objects == (Obj("red", "square", "large", "left"), BLUE)


def test_shape_synonyms():
    assert edited(TWO, "turn the plus sign into a triangular shape").objects[1].shape == "triangle"
    assert edited(TWO, "replace the cross with a plus").objects[1].shape == "cross"  # no change asked, none made


@pytest.mark.parametrize(
    "instruction, size",
    [("make the cross bigger", "large"), ("make the cross larger", "large"), ("make the circle smaller", "small")],
)
def test_size_forms(instruction, size):
    result = edited(TWO, instruction)
    changed = [o for o in result.objects if o not in TWO.objects]
    assert len(changed) == 1 and changed[0].size == size


@pytest.mark.parametrize("instruction", ["remove the cross", "delete the plus sign", "remove the blue one"])
def test_remove_keeps_the_other_object(instruction):
    result = edited(TWO, instruction)
    assert result.objects == (RED,) and (result.background, result.style) == (TWO.background, TWO.style)


@pytest.mark.parametrize(
    "word, background", [("white", "white"), ("black", "black"), ("gray", "gray"), ("grey", "gray"), ("dark", "black")]
)
def test_background(word, background):
    result = edited(ONE, f"make the background {word}")
    assert result.background == background and result.objects == ONE.objects and result.style == ONE.style


@pytest.mark.parametrize(
    "instruction, style",
    [
        ("make it flat", "flat"),
        ("make it filled", "flat"),
        ("make it outline", "outline"),
        ("make it outlined", "outline"),
    ],
)
def test_style(instruction, style):
    result = edited(TWO, instruction)
    assert result.style == style and result.objects == TWO.objects and result.background == TWO.background


@pytest.mark.parametrize(
    "ref",
    [
        "the circle",
        "the red circle",
        "the red one",
        "the object on the left",
        "the left one",
        "the ball",
        "the big red ball",
        "the object to the left",
        "the one on the left side",
    ],
)
def test_every_kind_of_reference_names_the_left_object(ref):
    assert edited(TWO, f"make {ref} green").objects == (Obj("green", "circle", "large", "left"), BLUE)


@pytest.mark.parametrize(
    "ref, scene, changed",
    [
        ("the object at the top", ONE, 0),
        ("the top one", ONE, 0),
        ("the object in the center", None, 0),
        ("the object at the bottom", None, 1),
        ("the bottom one", None, 1),
        ("the right one", TWO, 1),
        ("the object on the right", TWO, 1),
        ("the violet one", None, 0),
        ("the thing in the middle", None, 0),
    ],
)
def test_positions_and_synonyms_in_references(ref, scene, changed):
    if scene is None:
        scene = (
            parse_sentence(
                "a small purple square at the top and a large yellow circle at the bottom on a black "
                "background, flat style"
            )
            if "center" not in ref and "middle" not in ref
            else parse_sentence("a large pink cross in the center on a black background, flat style")
        )
    result = edited(scene, f"make {ref} orange")
    assert result.objects[changed].colour == "orange"
    assert [o for i, o in enumerate(result.objects) if i != changed] == [
        o for i, o in enumerate(scene.objects) if i != changed
    ]


@pytest.mark.parametrize(
    "instruction, words",
    [
        ("make the triangle green", "There is no triangle in the picture"),
        ("make the yellow one green", "There is no yellow object"),
        ("remove the object at the top", "There is no object at the top"),
        ("make the object in the center green", "There is no object in the center"),
        ("make the green square bigger", "There is no green square"),
    ],
)
def test_a_reference_that_matches_nothing_is_refused(instruction, words):
    with pytest.raises(EditRefused, match=words) as caught:
        apply(TWO, instruction)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_a_reference_that_matches_two_objects_is_refused():
    scene = parse_sentence(
        "a small red circle on the left and a large blue circle on the right on a white background, flat style"
    )
    with pytest.raises(EditRefused, match="There are two circles; say which one"):
        apply(scene, "make the circle green")
    small_ones = Scene(
        "white", "flat", (Obj("red", "circle", "small", "left"), Obj("blue", "square", "small", "right"))
    )
    with pytest.raises(EditRefused, match="There are two small objects"):
        apply(small_ones, "make the small one green")
    assert edited(scene, "make the blue circle green").objects[1].colour == "green"


@pytest.mark.parametrize(
    "instruction",
    [
        "dance",
        "make the circle",
        "rotate the circle",
        "make the circle a bit nicer",
        "turn the circle into a hexagon",
        "",
        "make it baroque",
    ],
)
def test_instructions_outside_the_forms_are_refused(instruction):
    with pytest.raises(EditRefused, match="not an edit this world understands|does not name an object"):
        apply(TWO, instruction)


def test_other_refusals():
    with pytest.raises(EditRefused, match="only this one object"):
        apply(ONE, "remove the triangle")
    with pytest.raises(EditRefused, match="already blue"):
        apply(TWO, "make the circle blue")  # two objects never share a colour
    with pytest.raises(EditRefused, match="only a background colour"):
        apply(TWO, "make the circle grey")
    with pytest.raises(EditRefused, match="not an edit this world understands"):
        apply(TWO, "make the circle sparkle")
    with pytest.raises(EditRefused, match="white, black or gray"):
        apply(TWO, "make the background purple")
    with pytest.raises(EditRefused, match="which one"):
        apply(TWO, "make it bigger")


def test_the_region_covers_old_and_new_footprints():
    change = apply(TWO, "make the cross bigger")
    mask = region(TWO, change)
    small = shape_mask("cross", "small", "right", "flat")
    large = shape_mask("cross", "large", "right", "flat")
    assert np.array_equal(mask, small | large) and not mask[:, :32].any()
    background = region(TWO, apply(TWO, "make the background white"))
    drawn = shape_mask("circle", "large", "left", "outline") | shape_mask("cross", "small", "right", "outline")
    assert np.array_equal(background, ~drawn)
    style = region(TWO, apply(TWO, "make it flat"))
    flat = shape_mask("circle", "large", "left", "flat") | shape_mask("cross", "small", "right", "flat")
    assert np.array_equal(style, flat)
    assert not region(TWO, apply(TWO, "make the cross smaller")).any()  # already small: nothing to redraw


def test_the_world_interface_reads_pictures_and_edits_sentences():
    text = sentence(TWO)
    assert SHAPES_WORLD.read_picture(render_pil(TWO)) == text
    result = SHAPES_WORLD.edit(text, "remove the left one")
    assert result.sentence == "a small blue cross on the right on a gray background, outline style"
    assert result.kind == "remove" and result.region.shape == (64, 64) and result.region[32, 16]
    with pytest.raises(ValueError, match="canonical"):
        SHAPES_WORLD.edit("a cat", "make it flat")
    with pytest.raises(ValueError, match="does not read"):
        SHAPES_WORLD.read_picture(np.full((64, 64, 3), 255, np.uint8))

"""The starter world of worlds/shapes/CONTRACT.md: renderer, grammar and scene parser, exhaustively."""

import io
import itertools
import random

import numpy as np
import pytest
from PIL import Image, ImageFilter

from worlds.shapes.scene_parser import compare, parse_image, score
from worlds.shapes.world import (
    BACKGROUNDS,
    COLOURS,
    OPPOSITE,
    POSITIONS,
    SHAPES,
    SIZES,
    STYLES,
    Obj,
    Scene,
    all_one_object_scenes,
    parse_sentence,
    random_scene,
    render,
    render_pil,
    sentence,
    shape_mask,
)

ONE = all_one_object_scenes()
TWO = [random_scene(random.Random(i), 2) for i in range(300)]


def test_every_one_object_scene_is_enumerated():
    assert len(ONE) == len(BACKGROUNDS) * len(STYLES) * len(COLOURS) * len(SHAPES) * len(SIZES) * len(POSITIONS) == 1920
    assert len(set(ONE)) == len(ONE)


def test_canvas_and_colours():
    scene = Scene("gray", "flat", (Obj("red", "square", "small", "center"),))
    image = render(scene)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == (128, 128, 128)
    assert tuple(image[32, 32]) == (220, 40, 40)
    # a box of side 16 centred at (32, 32) spans [24, 40) in x and y
    ys, xs = np.nonzero((image != (128, 128, 128)).any(-1))
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (24, 39, 24, 39)


@pytest.mark.parametrize("position,centre", POSITIONS.items())
def test_positions_and_large_size(position, centre):
    mask = shape_mask("square", "large", position, "flat")
    ys, xs = np.nonzero(mask)
    assert xs.max() - xs.min() + 1 == 28 and ys.max() - ys.min() + 1 == 28
    assert ((xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2) == centre


def test_shapes_are_what_the_page_says():
    circle = shape_mask("circle", "large", "center", "flat")
    square = shape_mask("square", "large", "center", "flat")
    triangle = shape_mask("triangle", "large", "center", "flat")
    cross = shape_mask("cross", "large", "center", "flat")
    assert not circle[18, 18] and circle[32, 32] and circle[32, 18]  # corners empty, inscribed
    assert square.sum() == 28 * 28
    assert triangle[45, 19] and triangle[45, 44] and not triangle[19, 19] and triangle[19, 31]  # apex top, base bottom
    assert abs(triangle.sum() - 28 * 28 / 2) < 30
    assert cross[18, 32] and cross[32, 18] and not cross[18, 18]  # arms span the box, corners empty
    assert abs(cross[32, 18:46].sum() - 28) <= 1 and 8 <= cross[18, 18:46].sum() <= 10  # arm a third of the side


def test_outline_is_a_three_pixel_stroke_inside_the_boundary():
    flat = shape_mask("square", "large", "center", "flat")
    outline = shape_mask("square", "large", "center", "outline")
    assert (outline <= flat).all()
    assert outline[32, 18:21].all() and not outline[32, 21]  # 3 pixels, then the inside shows background
    assert outline.sum() == 28 * 28 - 22 * 22


def test_sentence_round_trip_everywhere():
    for scene in ONE + TWO:
        assert parse_sentence(sentence(scene)) == scene


def test_canonical_sentence_matches_the_page_example():
    scene = Scene("gray", "outline", (Obj("red", "circle", "large", "left"), Obj("blue", "cross", "small", "right")))
    assert (
        sentence(scene)
        == "a large red circle on the left and a small blue cross on the right on a gray background, outline style"
    )
    assert sentence(Scene("white", "flat", (Obj("green", "square", "small", "center"),))) == (
        "a small green square in the center on a white background, flat style"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a large red circle on the left",
        "a large red circle on the left and a small red cross on the right on a gray background, flat style",
        "a large red circle on the left and a small blue cross on the left on a gray background, flat style",
        "a large red circle in the center and a small blue cross on the left on a gray background, flat style",
        "a huge red circle on the left on a gray background, flat style",
    ],
)
def test_non_canonical_or_impossible_sentences_are_refused(text):
    assert parse_sentence(text) is None


def test_two_object_scenes_follow_the_rules():
    for scene in TWO:
        a, b = scene.objects
        assert a.colour != b.colour and OPPOSITE[a.position] == b.position
    assert {s.objects[0].position for s in TWO} == set(OPPOSITE)


def test_every_scene_renders_and_parses_back():
    for scene in ONE + TWO:
        assert compare(scene, parse_image(render(scene)))["correct"], scene


def test_different_scenes_give_different_pictures():
    pictures = {render(s).tobytes() for s in ONE}
    assert len(pictures) == len(ONE)


def _jpeg(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75)
    return Image.open(buffer).convert("RGB")


def _noise(image: Image.Image) -> Image.Image:
    noisy = np.asarray(image).astype(np.int16) + np.random.default_rng(0).normal(0, 12, (64, 64, 3)).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    "damage,least",
    [
        (lambda im: im.filter(ImageFilter.GaussianBlur(0.8)), 1.0),
        (_noise, 1.0),
        (_jpeg, 0.98),  # quality 75 smears chroma over 3-pixel strokes; a few small outlines change colour
    ],
)
def test_parser_survives_damage(damage, least):
    scenes = ONE[::3] + TWO[:150]
    right = [compare(s, parse_image(damage(render_pil(s))))["correct"] for s in scenes]
    assert np.mean(right) >= least


def test_score_reports_each_attribute_and_extra_objects():
    asked = "a large red circle on the left on a gray background, flat style"
    good = render_pil(parse_sentence(asked))
    assert score(good, asked)["correct"]
    wrong_shape = render_pil(Scene("gray", "flat", (Obj("red", "square", "large", "left"),)))
    result = score(wrong_shape, asked)
    assert not result["correct"] and result["attributes"]["object1.shape"] is False
    assert all(v for k, v in result["attributes"].items() if k != "object1.shape")
    extra = render_pil(
        Scene("gray", "flat", (Obj("red", "circle", "large", "left"), Obj("blue", "cross", "small", "right")))
    )
    result = score(extra, asked)
    assert not result["correct"] and result["extra_objects"]
    with pytest.raises(ValueError):
        score(good, "a red thing")


def test_parser_reads_blank_canvas_as_no_object():
    blank = Image.new("RGB", (64, 64), (0, 0, 0))
    assert parse_image(blank).objects == ()
    assert not score(blank, "a small red circle in the center on a black background, flat style")["correct"]


def test_all_sizes_shapes_styles_combinations_have_distinct_masks():
    masks = {shape_mask(*k).tobytes() for k in itertools.product(SHAPES, SIZES, POSITIONS, STYLES)}
    assert len(masks) == len(SHAPES) * len(SIZES) * len(POSITIONS) * len(STYLES)

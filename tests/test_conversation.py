"""The shapes world's reading of a conversation's messages (worlds/shapes/conversation.py): no models, fast."""

import numpy as np
import pytest

from worlds.shapes import SHAPES_WORLD
from worlds.shapes.edits import Edit, region
from worlds.shapes.messages import english
from worlds.shapes.world import parse_sentence

TWO = "a large red circle on the left and a small blue cross on the right on a gray background, flat style"
ONE = "a small green triangle at the top on a white background, outline style"
CENTER = "a large red circle in the center on a white background, flat style"


def read(scene, message, focus=None):
    return SHAPES_WORLD.converse(scene, message, focus, seed=3)


def changed_to(scene, message, focus=None):
    reading = read(scene, message, focus)
    assert reading.action == "change", reading.reply
    return reading.change.sentence


@pytest.mark.parametrize(
    "message, focus, wanted",
    [
        ("make the circle green", None, TWO.replace("red circle", "green circle")),
        ("make it bigger", "right", TWO.replace("small blue", "large blue")),
        ("no, green", "left", TWO.replace("red circle", "green circle")),
        ("now outlined", None, TWO.replace("flat style", "outline style")),
        ("remove the other one", "left", "a large red circle on the left on a gray background, flat style"),
        ("make the left one smaller", None, TWO.replace("large red", "small red")),
        ("turn the cross into a square", None, TWO.replace("blue cross", "blue square")),
        ("replace the red circle with a triangle", None, TWO.replace("red circle", "red triangle")),
        ("make the background black", None, TWO.replace("gray background", "black background")),
        ("paint the cross yellow", None, TWO.replace("blue cross", "yellow cross")),
        ("change the circle on the left to a cross", None, TWO.replace("red circle", "red cross")),
        ("make the object on the right pink", None, TWO.replace("blue cross", "pink cross")),
        ("改成绿色", "left", TWO.replace("red circle", "green circle")),
        ("把它变大", "right", TWO.replace("small blue", "large blue")),
        ("把左边的变成正方形", None, TWO.replace("red circle", "red square")),
        ("背景改成黑色", None, TWO.replace("gray background", "black background")),
        ("去掉右边的", None, "a large red circle on the left on a gray background, flat style"),
        ("make it 绿色", "left", TWO.replace("red circle", "green circle")),
        ("把另一个变大", "left", TWO.replace("small blue", "large blue")),
        ("can you make the circle green?", None, TWO.replace("red circle", "green circle")),
        ("change the colour of the circle to green", None, TWO.replace("red circle", "green circle")),
        ("make the cross a big green square", None, TWO.replace("small blue cross", "large green square")),
        ("把圆形改成小的绿色正方形", None, TWO.replace("large red circle", "small green square")),
        ("and make the background black", None, TWO.replace("gray background", "black background")),
        ("colour the plus sign violet", None, TWO.replace("blue cross", "purple cross")),
        ("make the new one green", "right", TWO.replace("blue cross", "green cross")),
    ],
)
def test_changes_in_english_chinese_and_both(message, focus, wanted):
    assert changed_to(TWO, message, focus) == wanted


def test_one_object_changes_and_additions():
    assert changed_to(ONE, "make it bigger") == ONE.replace("small", "large")
    assert changed_to(ONE, "make it a little bigger please") == ONE.replace("small", "large")
    assert changed_to(ONE, "改成实心") == ONE.replace("outline style", "flat style")
    assert changed_to(ONE, "放大") == ONE.replace("small", "large")
    assert changed_to(ONE, "move it to the left") == ONE.replace("at the top", "on the left")
    added = changed_to(ONE, "add a blue square at the bottom")
    assert added == ONE.replace("at the top", "at the top and a small blue square at the bottom")
    # the world's two-object rule: the centred object moves to the other side to make room
    moved = changed_to(CENTER, "在右边加一个蓝色方块")
    assert moved.startswith("a large red circle on the left and a") and "blue square on the right" in moved


def test_the_region_of_an_addition_covers_the_new_object_and_where_the_old_one_was():
    reading = read(CENTER, "add a blue square on the right")
    old, new = parse_sentence(CENTER), parse_sentence(reading.change.sentence)
    expected = region(old, Edit(new, "add", old.objects, new.objects))
    assert np.array_equal(reading.change.region, expected)


@pytest.mark.parametrize(
    "scene, message, focus, words",
    [
        (TWO, "make it bigger", None, "two objects"),  # two objects and nothing talked about yet
        (TWO, "把它变大", None, "两个图形"),
        (TWO, "remove the triangle", None, "There is no triangle"),
        (TWO, "make the circle bigger", None, "already large"),
        (ONE, "make it smaller", None, "already small"),
        (TWO, "make the circle blue", None, "never share a colour"),
        (ONE, "remove it", None, "at least one object"),
        (ONE, "make it black", None, "only a background colour"),
        (ONE, "make the star blue", None, "'star' names nothing"),
        (TWO, "remove the other one", None, "not talked about either"),
        (ONE, "make the other one red", None, "only one object"),
        (ONE, "add a blue square on the left", None, "opposite sides"),
        (TWO, "add a green triangle", None, "already holds two"),
        (TWO, "make the background gray", None, "already gray"),
        (None, "make it bigger", None, "no picture yet"),
        (TWO, "hello there", None, "did not understand"),
    ],
)
def test_ambiguous_impossible_and_idle_changes_are_refused_with_the_reason(scene, message, focus, words):
    reading = read(scene, message, focus)
    assert reading.action == "refuse" and reading.change is None and reading.request is None
    assert words in reading.reply


@pytest.mark.parametrize(
    "message, focus, words",
    [
        ("what is in the picture?", None, TWO[0].upper() + TWO[1:]),
        ("what colour is the cross?", None, "The cross is blue."),
        ("how many objects are there?", None, "two objects"),
        ("where is the circle?", None, "on the left"),
        ("is there a triangle?", None, "No, there is none"),
        ("is the circle red?", None, "Yes, the circle is red."),
        ("what is on the left?", None, "a large red circle on the left"),
        ("what colour is it?", "right", "blue"),
        ("is it outlined?", None, "No, the picture is in flat style."),
        ("what colour is the background?", None, "gray"),
        ("what size is the cross", None, "small"),
        ("圆形是什么颜色？", None, "红色（red）"),
        ("画面里有什么？", None, TWO),
        ("有几个图形？", None, "两个"),
        ("背景是什么颜色？", None, "gray"),
        ("圆形大吗？", None, "是的"),
        ("is the circle big or small?", None, "The circle is large."),
        ("are there two objects?", None, "Yes, there are two objects."),
        ("what shape is on the left?", None, "The red one is a circle."),
        ("画里有几个东西？", None, "两个"),
        ("画面里的圆形是什么颜色", None, "红色（red）"),
        ("画上有三角形吗？", None, "没有（no）"),
        ("圆是大的还是小的？", None, "大的（large）"),
    ],
)
def test_questions_are_answered_from_the_scene(message, focus, words):
    reading = read(TWO, message, focus)
    assert reading.action == "answer" and reading.change is None
    assert words in reading.reply


def test_a_question_names_the_focus_for_the_next_message():
    asked = read(TWO, "what colour is the cross?")
    assert asked.focus == "right"
    assert changed_to(TWO, "make it green", asked.focus) == TWO.replace("blue cross", "green cross")


def test_new_pictures_and_their_requests():
    for scene in (None, TWO):
        reading = read(scene, "draw a red ball on the left")
        assert reading.action == "draw" and reading.request == "draw a red ball on the left"
    assert read(None, "画一个大的红色圆形在左边").action == "draw"
    assert read(TWO, "a big blue box on the right").action == "draw"


def test_messages_become_english_words():
    assert english("把它变大") == "make it bigger"
    assert english("方块是什么颜色？") == "square what colour ?"
    assert english("在右边加一个蓝色方块") == "add on the right blue square"
    assert english("What's in the picture?") == "what is in the picture ?"

"""Augmentation that keeps the caption true (training/augment.py), checked by reading the pictures back."""

import random

import numpy as np
from PIL import Image

from bench import teach_shape as star
from training.augment import Augment, crop_whole, object_box, recolour, swap_sides
from worlds.shapes.world import COLOURS, Obj, Scene


def picture(*objects: Obj, background: str = "white") -> tuple[Image.Image, str]:
    scene = Scene(background, "flat", objects)
    return Image.fromarray(star.render(scene)), star.sentence(scene)


def test_a_flip_swaps_left_and_right_in_the_caption_and_the_picture():
    image, text = picture(Obj("red", "star", "large", "left"), Obj("blue", "circle", "small", "right"))
    flips = [Augment(flip=True)(image, text, random.Random(seed)) for seed in range(8)]
    flipped = [(i, t) for i, t in flips if t != text]
    assert flipped and len(flipped) < len(flips)  # about half the time
    for image_, text_ in flipped:
        assert "red star on the right" in text_ and "blue circle on the left" in text_
        seen = star.read(np.asarray(image_))
        assert {(o.colour, o.position) for o in seen.objects} == {("red", "right"), ("blue", "left")}
    assert swap_sides("左边一个红色的圆, Left and right") == "右边一个红色的圆, Right and left"


def test_captions_a_flip_would_make_false_are_never_flipped():
    image, _ = picture(Obj("red", "star", "large", "left"))
    for seed in range(8):
        out, text = Augment(flip=True)(image, "the letters AB on the left", random.Random(seed))
        assert text == "the letters AB on the left" and out.tobytes() == image.tobytes()


def test_a_crop_keeps_every_object_whole(monkeypatch):
    image, _ = picture(Obj("red", "square", "small", "left"), Obj("blue", "cross", "large", "right"))
    left, top, right, bottom = object_box(np.asarray(image)) or (0, 0, 0, 0)
    boxes = []
    real = Image.Image.crop
    monkeypatch.setattr(Image.Image, "crop", lambda self, box=None: boxes.append(box) or real(self, box))
    for seed in range(30):
        assert crop_whole(image, 0.4, random.Random(seed)).size == image.size
    assert len({b for b in boxes}) > 5  # crops vary
    for x0, y0, x1, y1 in boxes:
        assert x0 <= left and y0 <= top and x1 >= right and y1 >= bottom


def test_colour_changes_only_where_the_caption_names_no_colour():
    image, text = picture(Obj("red", "star", "large", "left"))
    jitter = Augment(flip=False, colour=0.5)
    assert all(jitter(image, text, random.Random(s))[0].tobytes() == image.tobytes() for s in range(5))
    changed = [jitter(image, "a photo", random.Random(s))[0].tobytes() != image.tobytes() for s in range(5)]
    assert any(changed)


def test_recolouring_swaps_a_named_colour_in_picture_and_caption_alike():
    image, text = picture(Obj("red", "star", "large", "left"), Obj("blue", "circle", "small", "right"))
    seen_new = set()
    for seed in range(12):
        out, caption = recolour(image, text, COLOURS, random.Random(seed))
        assert caption != text
        shown = star.read(np.asarray(out))
        assert star.sentence(shown) == caption or sorted(map(repr, shown.objects)) == sorted(
            map(repr, _objects_of(caption))
        )
        seen_new |= {o.colour for o in shown.objects} - {"red", "blue"}
    assert len(seen_new) >= 3
    assert recolour(image, "一个红色的星", COLOURS, random.Random(0))[1] == "一个红色的星"  # not English: as it is
    assert recolour(image, "a star", COLOURS, random.Random(0))[1] == "a star"  # names no colour


def _objects_of(caption: str) -> tuple[Obj, ...]:
    objects = []
    for part in caption.split(" on a ")[0].split(" and "):
        words = part.split()
        objects.append(Obj(words[2], words[3], words[1], words[-1]))
    return tuple(objects)

"""Pictures people hand in: every kind becomes upright 8-bit RGB, or one clear sentence."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pipelines.core import inputs
from zoo.errors import BadInput


def test_cmyk_palette_and_grey_become_rgb(tmp_path):
    for mode in ("CMYK", "P", "L", "1"):
        path = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        Image.new(mode, (20, 10)).save(path)
        picture = inputs.image(path)
        assert picture.mode == "RGB" and picture.size == (20, 10)


def test_alpha_is_composited_over_white(tmp_path):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(path)
    assert inputs.image(path).getpixel((0, 0)) == (255, 255, 255)
    half = Image.new("RGBA", (8, 8), (0, 0, 0, 128))
    assert inputs.image(half).getpixel((0, 0))[0] in (127, 128)


def test_sixteen_bit_keeps_its_brightness(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16)).save(path)
    value = inputs.image(path).getpixel((0, 0))
    assert value[0] == value[1] == value[2] and abs(value[0] - 40000 // 256) <= 1


def test_exif_rotation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    Image.new("RGB", (40, 20), (0, 120, 0)).save(path, exif=exif)
    assert inputs.image(path).size == (20, 40)


def test_big_pictures_are_scaled_down_and_bombs_refused(tmp_path):
    assert max(inputs.image(Image.new("RGB", (3000, 1500))).size) == inputs.MAX_WORKING_SIDE
    bomb = tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )
    with pytest.raises(BadInput, match="too large"):
        inputs.image(bomb)


@pytest.mark.parametrize(
    "make,words",
    [
        (lambda p: p.write_text("hello"), "not a picture"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 30), "not a picture"),
        (lambda p: None, "no picture file"),
    ],
)
def test_broken_or_missing_files(tmp_path, make, words):
    path = tmp_path / "x.png"
    make(path)
    with pytest.raises(BadInput, match=words):
        inputs.image(path)


def test_numbers_and_prompts():
    assert inputs.number("7", "Steps", 1, 10, integer=True) == 7
    for bad in ("seven", None, float("inf"), 11, 2.5):
        with pytest.raises(BadInput):
            inputs.number(bad, "Steps", 1, 10, integer=True)
    assert inputs.prompt("  a   red\nball ") == "a red ball"
    assert inputs.seed(5) == 5 and inputs.seed(inputs.MAX_SEED) == inputs.MAX_SEED
    drawn = {inputs.seed(v) for v in (-1, None, "", -1, None)}  # -1, None and "" draw a random seed in range
    assert len(drawn) > 1 and all(0 <= s <= inputs.MAX_SEED for s in drawn)
    assert inputs.offset_seed(inputs.MAX_SEED, 1) == 0

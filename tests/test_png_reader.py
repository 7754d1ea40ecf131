"""The PNG settings reader against random and adversarial `parameters` texts: every case is read (or refused
with ValueError) within a time limit of its own, in a child process the test can stop, so a reader that
backtracks fails here instead of freezing the suite; past the size cap, a sentence."""

from __future__ import annotations

import multiprocessing
import random
import string

import pytest
from PIL import Image, PngImagePlugin

from pipelines.core.metadata import MAX_TEXT, from_text, png_info, to_text
from zoo.errors import BadInput

CASE_SECONDS = 2.0  # a linear reader needs about a millisecond for the longest case here


def adversarial() -> list[str]:
    n = 20_000
    return [
        "p\nA: " + '"' + "\\" * n,  # a quoted value that never closes, all escapes
        "p\nA: " + '"\\"' * (n // 3),
        "p\nA: " + '"' + '\\"' * (n // 2),
        "p\nA: " + "\\\\\\" * (n // 3) + '"',
        "p\nA" * n,
        "p\n" + "A " * n + ": x",
        "p\n" + "A: " * n,
        "p\n" + "A: x, " * (n // 6),
        "p\n" + "A: " + "," * n,
        "p\nSteps: " + '"' * n,
        "p\nA B C: " + 'x"' * (n // 2),
        "\n" * n + "Steps: 4",
        "Negative prompt:" * (n // 16) + "\nSteps: 4",
        "p\n" + "a" * (MAX_TEXT - 2),
        "p\nSteps: 4, Size: " + "9" * 5000 + "x1",
    ]


def random_texts(count: int, seed: int = 7) -> list[str]:
    pieces = ['"', "\\", ":", ": ", ", ", ",", "\n", " ", "A", "Steps", "Negative prompt:", "x", "中", "\0"]
    draw = random.Random(seed)
    texts = ["".join(draw.choice(pieces) for _ in range(draw.randint(1, 400))) for _ in range(count)]
    return texts + ["".join(draw.choice(string.printable) for _ in range(2000)) for _ in range(count // 4)]


def _read_all(texts: list[str], conn) -> None:
    for index, text in enumerate(texts):
        conn.send(index)
        try:
            from_text(text)
        except ValueError:
            pass  # a refusal is fine; only an unexpected exception or time is a failure
    conn.send(None)


def test_every_text_is_read_within_its_time_limit():
    texts = adversarial() + random_texts(400)
    here, there = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_read_all, args=(texts, there), daemon=True)
    child.start()
    started = -1
    try:
        while True:  # the child says which case it starts; the next word must come within the limit
            late = texts[started][:60] if started >= 0 else "starting"
            assert here.poll(CASE_SECONDS), f"case {started} took over {CASE_SECONDS} s: {late!r}"
            message = here.recv()
            if message is None:
                break
            started = message
    finally:
        child.kill()
        child.join()
    assert child.exitcode in (0, -9), "the reader raised something other than ValueError"


def test_the_reader_keeps_quoted_values_and_labels():
    text = 'a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, Lora hashes: "x: 1, y: 2", Seed: 3, Size: 8x9'
    fields = from_text(text)
    assert fields["lora_hashes"] == "x: 1, y: 2" and fields["sampler"] == "Euler a"
    assert (fields["steps"], fields["seed"], fields["width"], fields["height"]) == (20, 3, 8, 9)
    params = {"prompt": 'say "hi, there": now', "request": 'a \\ "b"', "steps": 3, "seed": 1, "width": 8, "height": 8}
    assert from_text(to_text(params)) == params


def _png_with(tmp_path, text: str):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    path = tmp_path / "settings.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


def test_png_info_refuses_a_text_past_the_cap_with_a_sentence(tmp_path):
    with pytest.raises(BadInput, match=r"longer than Atelier reads \(64,000 characters\)\."):
        png_info(_png_with(tmp_path, "p\nSteps: 4, " + "x" * MAX_TEXT))
    with pytest.raises(BadInput, match=r"not in a format Atelier reads\."):
        png_info(_png_with(tmp_path, "p\nA: " + '"' + "\\" * 30 + "\nSteps: 4, Size: 9x"))
    assert png_info(_png_with(tmp_path, "a cat\nSteps: 4, Seed: 2, Size: 8x8"))["seed"] == 2

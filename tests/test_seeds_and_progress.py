"""Two small promises: a seed read back from a PNG (Atelier's or AUTOMATIC1111's) is the whole number
that was written, and the progress bar hears at most one message every fifth of a second."""

from __future__ import annotations

import time

from PIL import Image

from pipelines.core.metadata import png_info, read_png, save_png
from ui.jobs import Runs

SEEDS = [0, 7, 2**31 + 5, 2**32 - 1]  # up to the top of the seed range, where a float would still hold


def test_a_seed_reads_back_as_the_whole_number_written(tmp_path):
    for seed in SEEDS:
        path = save_png(
            Image.new("RGB", (8, 8)),
            tmp_path / f"{seed}.png",
            {"prompt": "p", "seed": seed, "steps": 4, "guidance": 1.5},
        )
        for read in (read_png(path), png_info(path)):
            assert type(read["seed"]) is int and read["seed"] == seed, read
            assert type(read["steps"]) is int and read["steps"] == 4


def test_an_automatic1111_seed_reads_back_as_a_whole_number(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a red ball\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 3141592653, Size: 64x64")
    Image.new("RGB", (8, 8)).save(tmp_path / "a1111.png", pnginfo=info)
    read = png_info(tmp_path / "a1111.png")
    assert type(read["seed"]) is int and read["seed"] == 3141592653 and read["width"] == 64


def test_progress_messages_are_throttled():
    heard = []
    with Runs().start(None, "generate", lambda share, desc: heard.append((share, desc)), "drawing") as job:
        for step in range(1, 101):  # a fast run: its steps all come within a fifth of a second
            job.step(step, 100)
        assert heard == []
        time.sleep(0.25)
        job.step(5, 10)
        for step in range(6, 11):
            job.step(step, 10)
    assert heard == [(0.5, "drawing: step 5 of 10")]

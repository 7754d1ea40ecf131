"""Explain: which word drew which part of the picture (DAAM-style cross-attention maps per word).

`explaining(pipe, prompts, run)` wraps one pipeline call: while it runs the UNet's cross-attention is
recorded (pipelines/models/attention_maps.py); after it, picture i's words and maps are made from row i of
the batch alone (pipelines/models/word_maps.py). `request_from_png` turns a PNG Atelier made (its
`parameters` chunk names prompt, seed and settings) into the request that draws it again, explained.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.core import metadata
from pipelines.core.results import GenerateRequest
from pipelines.models.attention_maps import DEFAULT, Recorder, Weighting, capture
from pipelines.models.word_maps import WORD, WordMap, word_maps


@contextmanager
def explaining(
    pipe, prompts: list[str], run: dict, weighting: Weighting = DEFAULT, mode: str = "carried"
) -> Iterator[list[list[WordMap]]]:
    """Yields a list that, once the block has ended without error, holds each prompt's word maps."""
    scale = getattr(pipe, "vae_scale_factor", 8)
    latent = (run["height"] // scale, run["width"] // scale)
    recorder = Recorder(len(prompts), latent, run["steps"], weighting)
    found: list[list[WordMap]] = []
    with capture(pipe.unet, recorder):
        yield found
    if not recorder.sums:  # stopped before the first step
        found.extend([] for _ in prompts)
        return
    maps = recorder.token_maps((run["height"], run["width"]))
    found.extend(word_maps(pipe, prompts, maps, mode))


def request_from_png(path, model: str | None = None) -> GenerateRequest:
    """The request that redraws a PNG Atelier made: its prompt as it was used, seed and settings."""
    info = metadata.png_info(path)
    return GenerateRequest(
        info["prompt"],
        info["negative_prompt"],
        model or info["model"],
        steps=info["steps"],
        guidance=info["guidance"],
        width=info["width"],
        height=info["height"],
        seed=info["seed"],
        draw_as_is=True,
        explain=True,
    )


def word_for_row(row: dict, words: list[WordMap]) -> int | None:
    """The index of the word a receipt row concerns (its wanted value, else a word of its attribute's
    name), or None. Object N's row takes the N-th such word when the prompt repeats it."""
    attribute = str(row.get("attribute", ""))
    number = re.match(r"object(\d+)\.", attribute)
    for text in (str(row.get("wanted", "")), re.sub(r"^object\d+\.", "", attribute)):
        wanted = {t.lower() for t in WORD.findall(text)}
        found = [w.index for w in words if w.word.lower() in wanted]
        if found:
            return found[min(int(number.group(1)) - 1, len(found) - 1)] if number else found[0]
    return None

"""Per-token attention maps merged into per-word maps.

A word is a run of letters and digits in the prompt (punctuation is not a word); `index` is its place
among the prompt's words, from 0. Special and padding tokens are never words, and words past the text
encoder's length limit are left out. A word's map is scaled so that its hottest pixel is 1 and its
coldest 0. Two ways to make it (bench/explain.py measures both):
  "own"      the sum of the maps of the word's own tokens (all pieces of a word the tokenizer splits);
  "carried"  the maps of every position of the encoded prompt, each weighted by how much of the word
             it carries (attention rollout through the text encoder, pipelines/models/text_rollout.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from pipelines.models.text_rollout import rollout

WORD = re.compile(r"[^\W_]+")
MODES = ("carried", "own")


@dataclass
class WordMap:
    word: str
    index: int
    map: np.ndarray  # float32 (height, width) in [0, 1], the picture's size

    def png(self) -> Image.Image:
        """The map as an 8-bit grayscale picture (255: the word's hottest pixel)."""
        return Image.fromarray(np.round(self.map * 255).astype(np.uint8), mode="L")


def encode(tokenizer, prompt: str) -> dict:
    """The prompt as the pipelines encode it (padded to the encoder's length), with character offsets."""
    return tokenizer(
        prompt,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_offsets_mapping=True,
    )


def token_words(offsets: list[tuple[int, int]], prompt: str) -> list[tuple[str, int, list[int]]]:
    """(word, index, the positions of its tokens) for every word the encoder sees."""
    found = []
    for index, match in enumerate(WORD.finditer(prompt)):
        start, end = match.span()
        tokens = [i for i, (a, b) in enumerate(offsets) if a < end and b > start]
        if tokens:
            found.append((match.group(), index, tokens))
    return found


def word_maps(pipe, prompts: list[str], token_maps: torch.Tensor, mode: str = "carried") -> list[list[WordMap]]:
    """Each prompt's words with their maps, from its picture's token maps (rows, tokens, height, width)."""
    encoded = [encode(pipe.tokenizer, p) for p in prompts]
    tokens = token_maps.shape[1]
    if mode == "carried":
        shares = rollout(pipe.text_encoder, [e["input_ids"] for e in encoded])
    else:
        shares = [torch.eye(len(e["input_ids"])) for e in encoded]
    found: list[list[WordMap]] = []
    for prompt, e, share, maps in zip(prompts, encoded, shares, token_maps.float()):
        words = token_words(e["offset_mapping"], prompt)
        if not words:
            found.append([])
            continue
        weights = torch.stack([share[:tokens, positions].sum(1) for _, _, positions in words])  # (words, tokens)
        heat = (weights @ maps.reshape(tokens, -1)).reshape(len(words), *maps.shape[1:])
        heat = heat - heat.amin((1, 2), keepdim=True)
        heat = heat / heat.amax((1, 2), keepdim=True).clamp_min(1e-12)
        found.append([WordMap(w, i, h.numpy().astype(np.float32)) for (w, i, _), h in zip(words, heat)])
    return found

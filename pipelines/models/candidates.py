"""Candidates for verify-and-refine: pictures of one request that differ in what they show.

The starter model predicts the clean picture (x0) in four DDIM steps, so candidates that differ only
in their seed come out nearly the same. Candidates here are drawn stochastically: DDIM with eta > 0
(fresh noise at every step), the world's other readings of the prompt (a two-object scene has two
canonical sentences), and, for a world's models, noise on the text embedding from the second
candidate on (hub models already draw different pictures from different seeds). Plain
generation (pipelines/tasks/generate.py) is untouched and stays deterministic for a seed.
"""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import numpy as np
import torch
from PIL import Image

from pipelines.core.control import RunControl
from pipelines.models.adapters import adapter_on
from pipelines.models.diffusion import draw_text, sampler_name
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

ETA = 1.0  # DDIM eta for candidates: 0 is deterministic DDIM, 1 samples like DDPM
EMBEDDING_NOISE = 0.6  # per candidate after the first, noise of this share of the text embedding's spread


def draw_candidates(
    cache: ModelCache,
    entry: ModelEntry,
    prompts: list[str],
    negative: str,
    run: dict,
    seeds: list[int],
    control: RunControl | None = None,
    eta: float = ETA,
    embedding_noise: float = EMBEDDING_NOISE,
) -> tuple[list[Image.Image], str]:
    """One picture per prompt and seed, sampled stochastically; and the sampler's name (with its eta)."""
    control = control or RunControl()
    with cache.use(entry.id) as pipe, adapter_on(cache.registry, pipe, run, prompts):
        accepts = inspect.signature(pipe.__call__).parameters
        extra = {"eta": eta} if eta and "eta" in accepts else {}
        text: dict[str, Any] = {"prompt": prompts, "negative_prompt": [negative] * len(prompts) if negative else None}
        if embedding_noise and entry.world and "prompt_embeds" in accepts and run["guidance"] <= 1:
            text = {"prompt_embeds": _noisy_embeddings(pipe, prompts, seeds, embedding_noise)}
        images = draw_text(pipe, text, run, seeds, control.on_step_end(run["steps"]), **extra)
        sampler = sampler_name(pipe)
    control.check()
    return images, f"{sampler} eta {extra['eta']}" if extra else sampler


def _noisy_embeddings(pipe, prompts: list[str], seeds: list[int], share: float) -> torch.Tensor:
    """The prompts' text embeddings; every one but the first moved by seeded noise (share x their spread)."""
    embeds = pipe.encode_prompt(prompts, pipe.device, 1, False)[0]
    for i, seed in enumerate(seeds[1:], 1):
        g = torch.Generator("cpu").manual_seed(seed)
        noise = torch.randn(embeds[i].shape, generator=g).to(embeds.device, embeds.dtype)
        embeds[i] = embeds[i] + share * embeds[i].std() * noise
    return embeds


def diversity(images: list, read=None) -> dict:
    """How much candidates differ: the mean absolute pixel difference over every pair (0..255), and
    with `read` (picture -> what it shows) the share of pairs whose readings differ."""
    arrays = [np.asarray(im.convert("RGB"), np.float32) for im in images]
    pairs = list(itertools.combinations(range(len(images)), 2))
    if not pairs:
        return {"pairs": 0, "mean pixel difference": 0.0} | ({"pairs shown differently": 0.0} if read else {})
    result = {
        "pairs": len(pairs),
        "mean pixel difference": float(np.mean([np.abs(arrays[a] - arrays[b]).mean() for a, b in pairs])),
    }
    if read is not None:
        seen = [read(im) for im in images]
        result["pairs shown differently"] = sum(seen[a] != seen[b] for a, b in pairs) / len(pairs)
    return result

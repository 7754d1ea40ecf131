"""How well a picture matches a request, chosen by the models in use.

- Models of a synthetic world (registry `world`): the world reads the picture itself (the starter
  world's scene parser, robust to antialiasing, JPEG, noise and one-pixel geometry); the score is
  the share of the request's stated attributes, and the object count, that the picture has.
- Hub models with a `scorer` entry: the mean of the CLIP similarity of picture and request and
  the share of the request's words that the caption repeats.
- Otherwise: the caption agreement alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from worlds import world_for
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

Scorer = Callable[[str, list, list[str]], list[float]]  # (request, pictures, captions) -> scores in [0, 1]
STOPWORDS = {"a", "an", "the", "of", "on", "in", "at", "with", "and", "to", "is", "are", "for", "by", "from", "its"}


def scorer_for(cache: ModelCache, entry: ModelEntry) -> Scorer:
    world = world_for(entry.world)
    if world is not None:
        return lambda request, pictures, captions: [
            sum(row["ok"] for row in rows) / len(rows) for rows in (world.check(request, p) for p in pictures)
        ]
    if scorer := entry.scorer:
        return lambda request, pictures, captions: [
            (c + w) / 2
            for c, w in zip(clip_scores(cache, scorer, request, pictures), word_agreement(request, pictures, captions))
        ]
    return word_agreement


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS and len(w) > 2}


def word_agreement(request: str, pictures, captions: list[str]) -> list[float]:
    wanted = _words(request)
    return [len(wanted & _words(c)) / len(wanted) if wanted else 1.0 for c in captions]


def clip_scores(cache: ModelCache, scorer_id: str, request: str, pictures) -> list[float]:
    """Cosine similarity of CLIP's picture and text embeddings, clipped to [0, 1]."""
    return [min(1.0, max(0.0, row[0])) for row in similarities(cache, scorer_id, pictures, [request])]


def similarities(cache: ModelCache, scorer_id: str, images: list, texts: list[str]) -> list[list[float]]:
    """CLIP cosine similarity of each picture with each text."""
    with cache.use(scorer_id) as clip:
        model, processor = clip.model, clip.processor
        inputs = processor(text=texts, images=list(images), return_tensors="pt", padding=True, truncation=True)
        inputs = {k: v.to(model.device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        with torch.inference_mode():
            out = model(**inputs)
        image = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1)
        text = torch.nn.functional.normalize(out.text_embeds.float(), dim=-1)
        return (image @ text.T).tolist()

"""Describes pictures with a captioning model."""

from __future__ import annotations

from pipelines.core import inputs
from pipelines.models.captioner import describe
from zoo.cache import ModelCache
from zoo.errors import BadInput

MAX_BATCH = 64


def caption(cache: ModelCache, images, model_id: str | None = None) -> list[str]:
    """One caption per picture; `images` is one picture or a list of them (paths, PIL images)."""
    batch = images if isinstance(images, (list, tuple)) else [images]
    if not batch:
        raise BadInput("No picture was given; upload one.")
    if len(batch) > MAX_BATCH:
        raise BadInput(f"Caption at most {MAX_BATCH} pictures at a time.")
    pictures = [inputs.image(i) for i in batch]
    entry = cache.registry.pick(model_id, "captioning")
    return describe(cache, entry.id, pictures)

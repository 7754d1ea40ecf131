"""Describes pictures with a captioning model (BLIP through its model class and processor)."""

from __future__ import annotations

import torch

from pipelines import inputs
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
    with cache.use(entry.id) as vlm:
        return caption_loaded(vlm, pictures, int(entry.defaults.get("max_new_tokens", 40)))


def caption_loaded(vlm, pictures, max_new_tokens: int = 40) -> list[str]:
    model, processor = vlm.model, vlm.processor
    pixels = processor(images=pictures, return_tensors="pt").pixel_values.to(model.device, model.dtype)
    with torch.inference_mode():
        out = model.generate(pixel_values=pixels, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
    return [" ".join(t.split()) for t in processor.batch_decode(out, skip_special_tokens=True)]

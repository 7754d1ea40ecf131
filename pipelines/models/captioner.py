"""The captioning model's call (BLIP through its model class and processor)."""

from __future__ import annotations

import torch

from zoo.cache import ModelCache


def caption_loaded(vlm, pictures, max_new_tokens: int = 40) -> list[str]:
    model, processor = vlm.model, vlm.processor
    pixels = processor(images=pictures, return_tensors="pt").pixel_values.to(model.device, model.dtype)
    with torch.inference_mode():
        out = model.generate(pixel_values=pixels, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
    return [" ".join(t.split()) for t in processor.batch_decode(out, skip_special_tokens=True)]


def describe(cache: ModelCache, captioner_id: str, pictures: list) -> list[str]:
    """The captioner's caption of each (already checked) picture, with its registry's token limit."""
    captioner = cache.registry.get(captioner_id)
    with cache.use(captioner.id) as vlm:
        return caption_loaded(vlm, pictures, int(captioner.defaults.get("max_new_tokens", 40)))

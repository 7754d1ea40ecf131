"""CLIP (the registry's `scorer`): cosine similarities of pictures and texts, each picture encoded once a call."""

from __future__ import annotations

import torch

from zoo.cache import ModelCache


def similarities(cache: ModelCache, scorer_id: str, images: list, texts: list[str]) -> list[list[float]]:
    """CLIP cosine similarity of each picture with each text, in one pass of the model."""
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


def clip_scores(cache: ModelCache, scorer_id: str, request: str, pictures) -> list[float]:
    """Cosine similarity of CLIP's picture and text embeddings, clipped to [0, 1]."""
    return [min(1.0, max(0.0, row[0])) for row in similarities(cache, scorer_id, pictures, [request])]

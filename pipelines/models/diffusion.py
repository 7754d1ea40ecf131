"""The one place a diffusers pipeline is called to draw text to image (the batcher and verify's candidates
both come here): picture i from text i and seed i, with a step callback, on a CPU generator per picture."""

from __future__ import annotations

import torch
from PIL import Image


def sampler_name(pipe) -> str:
    return type(pipe.scheduler).__name__.removesuffix("Scheduler")


def draw_text(pipe, text: dict, run: dict, seeds: list[int], on_step_end, **extra) -> list[Image.Image]:
    """`text`: {"prompt", "negative_prompt"} or {"prompt_embeds"}; `run`: steps, guidance, width, height;
    `extra`: more keyword arguments the pipeline accepts (eta)."""
    out = pipe(
        **text,
        num_inference_steps=run["steps"],
        guidance_scale=run["guidance"],
        width=run["width"],
        height=run["height"],
        generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
        callback_on_step_end=on_step_end,
        **extra,
    )
    return out.images

"""Text to image: an optional language model rewrites the request, then a diffusion pipeline draws it."""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image

from pipelines import inputs
from pipelines.prompt_expansion import prompt_for
from zoo.cache import ModelCache
from zoo.errors import BadInput, Cancelled
from zoo.registry import ModelEntry

MAX_IMAGES = 8
MAX_STEPS = 150
Progress = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass
class Generation:
    images: list[Image.Image]
    used_prompt: str
    parameters: list[dict]  # one per image, ready for the PNG `parameters` chunk
    extra: dict = field(default_factory=dict)


def settings(entry: ModelEntry, steps=None, guidance=None, width=None, height=None) -> dict:
    """The run's settings: the entry's defaults, overridden by what was asked, all range-checked."""
    d = entry.defaults
    return {
        "steps": inputs.number(steps if steps is not None else d.get("steps", 25), "Steps", 1, MAX_STEPS, integer=True),
        "guidance": inputs.number(guidance if guidance is not None else d.get("guidance", 7.5), "Guidance", 0, 30),
        "width": _side(width if width is not None else d.get("width", 512), "Width"),
        "height": _side(height if height is not None else d.get("height", 512), "Height"),
    }


def _side(value, name: str) -> int:
    side = inputs.number(value, name, 64, 2048, integer=True)
    if side % 8:
        raise BadInput(f"{name} must be a multiple of 8; got {side}.")
    return side


def step_callback(progress: Progress | None, cancel: threading.Event | None, total: int):
    """A diffusers callback_on_step_end that reports each step and stops the run when asked."""

    def on_step_end(pipe, step: int, timestep, tensors: dict) -> dict:
        if progress:
            progress(step + 1, total)
        if cancel is not None and cancel.is_set():
            pipe._interrupt = True
        return tensors

    return on_step_end


def generate(
    cache: ModelCache,
    prompt: str,
    negative_prompt: str = "",
    model_id: str | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    width: int | None = None,
    height: int | None = None,
    seed: int | None = None,
    num_images: int = 1,
    expand_with: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Generation:
    request = inputs.prompt(prompt)
    negative = inputs.prompt(negative_prompt, "negative prompt", allow_empty=True)
    entry = cache.registry.pick(model_id, "text-to-image")
    run = settings(entry, steps, guidance, width, height)
    count = inputs.number(num_images, "Number of images", 1, MAX_IMAGES, integer=True)
    seed = inputs.seed(seed)
    seed = random.randrange(2**32 - MAX_IMAGES) if seed is None else seed
    used = prompt_for(cache, entry, request, expand_with, seed)
    images, sampler = draw(cache, entry, [used] * count, negative, run, [seed + i for i in range(count)], progress, cancel)
    params = [
        {"prompt": used, "negative_prompt": negative, "request": request if used != request else None,
         "sampler": sampler, "seed": seed + i, "model": entry.id, **run}
        for i in range(count)
    ]
    return Generation(images, used, params)


def draw(cache: ModelCache, entry: ModelEntry, prompts: list[str], negative: str, run: dict, seeds: list[int],
         progress: Progress | None = None, cancel: threading.Event | None = None) -> tuple[list[Image.Image], str]:
    """One picture per prompt, in one batch (picture i depends only on prompt i and seed i),
    and the sampler's name."""
    with cache.use(entry.id) as pipe:
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        out = pipe(
            prompt=prompts, negative_prompt=[negative] * len(prompts) if negative else None,
            num_inference_steps=run["steps"], guidance_scale=run["guidance"], width=run["width"], height=run["height"],
            generator=generators, callback_on_step_end=step_callback(progress, cancel, run["steps"]),
        )
        sampler = type(pipe.scheduler).__name__.removesuffix("Scheduler")
    if cancel is not None and cancel.is_set():
        raise Cancelled("The run was cancelled; nothing was lost, start it again when ready.")
    return out.images, sampler

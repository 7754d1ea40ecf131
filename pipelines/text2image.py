"""Text to image: an optional language model rewrites the request, then a diffusion pipeline draws it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PIL import Image

from pipelines import decode, inputs
from pipelines.batching import Preview, batcher_for
from pipelines.prompt_expansion import prompt_for
from pipelines.results import NONE, GenerateRequest, Generation, Picture, png_parameters
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import ModelEntry

MAX_IMAGES = 8
MAX_STEPS = 150
Progress = Callable[[int, int], None]  # (steps done, steps in all)


def settings(entry: ModelEntry, steps=None, guidance=None, width=None, height=None) -> dict:
    """The run's settings: the entry's defaults, overridden by what was asked, all range-checked."""
    d = entry.defaults
    return {
        "steps": inputs.number(steps if steps is not None else d.get("steps", 25), "Steps", 1, MAX_STEPS, integer=True),
        "guidance": inputs.number(guidance if guidance is not None else d.get("guidance", 7.5), "Guidance", 0, 30),
        "width": _side(width if width is not None else d.get("width", 512), "Width", entry),
        "height": _side(height if height is not None else d.get("height", 512), "Height", entry),
    }


def side_range(entry: ModelEntry) -> tuple[int, int]:
    """The picture sides the model draws well (registry defaults min_side / max_side)."""
    return int(entry.defaults.get("min_side", 64)), int(entry.defaults.get("max_side", 2048))


def _side(value, name: str, entry: ModelEntry) -> int:
    side = inputs.number(value, name, 8, 4096, integer=True)
    if side % 8:
        raise BadInput(f"{name} must be a multiple of 8; got {side}.")
    low, high = side_range(entry)
    if not low <= side <= high:
        sizes = f"{low}" if low == high else f"from {low} to {high}"
        raise BadInput(f"{entry.id} draws {name.lower()}s {sizes} pixels; got {side}.")
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


def prepare(cache: ModelCache, job: GenerateRequest) -> tuple[str, str, ModelEntry, dict, int]:
    """The checks every text-to-image run shares: (request, negative prompt, entry, settings, seed)."""
    request = inputs.prompt(job.prompt)
    negative = inputs.prompt(job.negative_prompt, "negative prompt", allow_empty=True)
    entry = cache.registry.pick(job.model, "text-to-image")
    run = settings(entry, job.steps, job.guidance, job.width, job.height)
    return request, negative, entry, run, inputs.seed(job.seed)


def run(
    cache: ModelCache,
    job: GenerateRequest,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    preview: Preview | None = None,
) -> Generation:
    """Plain generation, or verify-and-refine when the request asks for candidates. `preview` is
    handed cheap pictures of the latents during the run (verify: each round's candidates)."""
    if job.verify:
        from pipelines.verify import run_verified

        return run_verified(cache, job, progress, cancel, preview)
    request, negative, entry, run, seed = prepare(cache, job)
    count = inputs.number(job.num_images, "Number of images", 1, MAX_IMAGES, integer=True)
    expander = NONE if job.draw_as_is else inputs.expander_choice(job.expand_with)
    used = prompt_for(cache, entry, request, expander, seed)
    seeds = [inputs.offset_seed(seed, i) for i in range(count)]
    mode, kept = decode.choice(job.decode, entry, cache.device), []
    images, sampler = draw(cache, entry, [used] * count, negative, run, seeds, progress, cancel, preview, mode, kept)
    mode = decode.FAST if kept else decode.FULL  # fast asked, but no tiny autoencoder on disk: decoded in full
    pictures = [
        Picture(
            image,
            png_parameters(used, request, entry.id, s, sampler, run, negative_prompt=negative, decode=mode),
            latents=kept[i] if kept else None,
        )
        for i, (image, s) in enumerate(zip(images, seeds))
    ]
    if mode == decode.FAST:
        decode.remember(cache, pictures)
    return Generation(pictures, used)


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
    decode_as: str | None = None,
) -> Generation:
    """Plain generation from keyword arguments (see GenerateRequest)."""
    job = GenerateRequest(
        prompt,
        negative_prompt,
        model_id,
        inputs.expander_choice(expand_with),
        steps,
        guidance,
        width,
        height,
        seed,
        num_images,
        decode=decode_as,
    )
    return run(cache, job, progress, cancel)


def draw(
    cache: ModelCache,
    entry: ModelEntry,
    prompts: list[str],
    negative: str,
    run: dict,
    seeds: list[int],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    preview: Preview | None = None,
    decode_as: str = decode.FULL,
    kept: list[str] | None = None,
) -> tuple[list[Image.Image], str]:
    """One picture per prompt (picture i from prompt i and seed i), and the sampler's name. Requests
    that share the model and settings may be drawn in one call with others (pipelines/batching.py).
    `decode_as` fast: the keys of the pictures' kept latents are added to `kept`."""
    return batcher_for(cache).draw(entry, prompts, negative, run, seeds, progress, cancel, preview, decode_as, kept)

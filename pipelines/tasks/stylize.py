"""Style transfer: redraws a picture through the image-to-image form of a text-to-image model.

The target prompt keeps what the picture shows and asks for the new style: the model's
captioner describes the picture first. In the starter world the caption is a canonical
sentence, so only its style is swapped and every object is named again.
"""

from __future__ import annotations

import math

import torch
from PIL import Image

from pipelines.core import inputs
from pipelines.core.control import RunControl
from pipelines.core.results import Picture, Stylized, png_parameters
from pipelines.core.settings import settings
from pipelines.judges import judge_for
from pipelines.models.captioner import describe
from pipelines.models.diffusion import sampler_name
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import ModelEntry


def target_prompt(cache: ModelCache, entry: ModelEntry, picture: Image.Image, style: str) -> tuple[str, str | None]:
    """(the prompt to redraw with, the caption it came from)."""
    if not entry.captioner:
        return style, None
    described = describe(cache, entry.captioner, [picture])[0]
    world = judge_for(cache, entry).world
    if world is not None:
        try:
            restyled = world.restyle(described, style)
        except ValueError as e:
            raise BadInput(str(e)) from None
        if restyled is not None:
            return restyled, described
    return f"{described}, {style}", described


def stylize(
    cache: ModelCache,
    image,
    style: str,
    model_id: str | None = None,
    strength: float | None = None,
    seed: int | None = None,
    steps: int | None = None,
    control: RunControl | None = None,
) -> Stylized:
    control = control or RunControl()
    picture = inputs.image(image)
    style = inputs.prompt(style, "style")
    entry = cache.registry.pick(model_id, "text-to-image")
    run = settings(entry, steps)
    strength = inputs.number(
        strength if strength is not None else entry.defaults.get("strength", 0.6), "Strength", 0.05, 1
    )
    seed = inputs.seed(seed)
    # img2img runs int(steps * strength) steps: at least one, so low strengths still draw
    run["steps"] = max(run["steps"], math.ceil(1 / strength + 1e-6))
    picture = picture.resize((run["width"], run["height"]), Image.Resampling.LANCZOS)
    prompt, described = target_prompt(cache, entry, picture, style)
    with cache.use_img2img(entry.id) as pipe:
        out = pipe(
            prompt=prompt,
            image=picture,
            strength=strength,
            num_inference_steps=run["steps"],
            guidance_scale=run["guidance"],
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=control.on_step_end(max(1, int(run["steps"] * strength))),
        )
        sampler = sampler_name(pipe)
    control.check()
    params = png_parameters(prompt, style, entry.id, seed, sampler, run, strength=strength)
    return Stylized(Picture(out.images[0], params), prompt, described)

"""A text-to-image model's run settings: its registry defaults, overridden by what was asked, range-checked."""

from __future__ import annotations

from pipelines.core import inputs
from pipelines.core.adapters import adapter_settings
from pipelines.core.results import GenerateRequest
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import ModelEntry

MAX_IMAGES = 8
MAX_STEPS = 150


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


def prepare(cache: ModelCache, job: GenerateRequest) -> tuple[str, str, ModelEntry, dict, int]:
    """The checks every text-to-image run shares: (request, negative prompt, entry, settings, seed)."""
    request = inputs.prompt(job.prompt)
    negative = inputs.prompt(job.negative_prompt, "negative prompt", allow_empty=True)
    entry = cache.registry.pick(job.model, "text-to-image")
    run = settings(entry, job.steps, job.guidance, job.width, job.height)
    run |= adapter_settings(cache.registry, entry, job.lora, job.lora_scale)
    return request, negative, entry, run, inputs.seed(job.seed)

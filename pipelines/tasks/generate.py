"""Text to image, the one entry for every backend: an optional language model rewrites the request, a
diffusion model draws it (through the batcher), and the model's judge gives each picture its receipt.
Verify-and-refine (tasks/verify.py) is the same entry with candidates asked for."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from pipelines.core import inputs
from pipelines.core.control import RunControl
from pipelines.core.results import NONE, GenerateRequest, Generation, Picture, png_parameters
from pipelines.core.settings import MAX_IMAGES, prepare, settings
from pipelines.judges import Judge, judge_for
from pipelines.models import decode
from pipelines.models.adapters import wanted as adapter_wanted
from pipelines.models.batching import batcher_for
from pipelines.tasks.prompts import prompt_for
from pipelines.tasks.verify import run_verified
from zoo.cache import ModelCache
from zoo.errors import AtelierError
from zoo.registry import ModelEntry

__all__ = ["Planned", "draw", "draw_planned", "generate", "plan", "run", "settings"]


@dataclass
class Planned:
    """One plain request, checked and expanded, ready to draw."""

    request: str
    negative: str
    entry: ModelEntry
    run: dict
    used: str
    seeds: list[int]
    judge: Judge
    explain: bool = False  # each picture's word maps too (pipelines/models/explain.py)
    finish: decode.Decode = field(default_factory=decode.Decode)  # fast or full; fast: the kept latents' keys


def run(cache: ModelCache, job: GenerateRequest, control: RunControl | None = None) -> Generation:
    """Plain generation, or verify-and-refine when the request asks for candidates; every picture comes back
    with its receipt. `control.preview` is handed cheap pictures of the latents (verify: each round's)."""
    control = control or RunControl()
    if job.verify:
        return run_verified(cache, job, control)
    return draw_planned(cache, [plan(cache, job)], [control])[0]


def plan(cache: ModelCache, job: GenerateRequest) -> Planned:
    """The first half of a plain run: the checks, the seeds, the prompt expansion."""
    request, negative, entry, run, seed = prepare(cache, job)
    count = inputs.number(job.num_images, "Number of images", 1, MAX_IMAGES, integer=True)
    expander = NONE if job.draw_as_is else inputs.expander_choice(job.expand_with)
    judge = judge_for(cache, entry)
    used = prompt_for(cache, judge, request, expander, seed)
    if run.get("lora"):
        run = run | {"lora_on": adapter_wanted(cache.registry, run, [used])}
    seeds = [inputs.offset_seed(seed, i) for i in range(count)]
    finish = decode.Decode(decode.choice(job.decode, entry, cache.device))
    return Planned(request, negative, entry, run, used, seeds, judge, job.explain, finish)


def draw_planned(cache: ModelCache, items: list[Planned], controls: list[RunControl]) -> list:
    """Planned requests of one model and settings (pipelines.models.batching.compatible), queued together so
    they may share diffusion calls; per request its Generation with receipts, or the error it met."""
    first = items[0]
    asked = [([item.used] * len(item.seeds), item.negative, item.seeds, c) for item, c in zip(items, controls)]
    finishes: list[decode.Decode | None] = [item.finish for item in items]
    drawn = batcher_for(cache).draw_together(first.entry, first.run, asked, first.explain, finishes)
    for answer in drawn:  # a bug, unlike a sentence for the person, is raised for every caller
        if isinstance(answer, BaseException) and (len(items) == 1 or not isinstance(answer, AtelierError)):
            raise answer
    return [
        answer if isinstance(answer, BaseException) else _finish(cache, item, *answer)
        for item, answer in zip(items, drawn)
    ]


def _finish(
    cache: ModelCache, item: Planned, images: list[Image.Image], sampler: str, words: list | None = None
) -> Generation:
    """The pictures with their PNG records and receipts (read by the model's judge), word maps when explained;
    fast ones keep their latents."""
    receipts = item.judge.check(item.request, images)
    kept = item.finish.kept if item.finish.mode == decode.FAST else [None] * len(images)
    record = dict(negative_prompt=item.negative, decode=item.finish.mode)
    pictures = [
        Picture(
            image,
            png_parameters(item.used, item.request, item.entry.id, s, sampler, settings_of(item.run), **record),
            receipt=rows,
            words=maps,
            latents=key,
        )
        for image, s, rows, maps, key in zip(images, item.seeds, receipts, words or [None] * len(images), kept)
    ]
    decode.remember(cache, pictures)
    return Generation(pictures, item.used)


def settings_of(run: dict) -> dict:
    """The run's settings as a picture records them (whether the adapter went on follows from its prompt)."""
    return {k: v for k, v in run.items() if k != "lora_on"}


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
    control: RunControl | None = None,
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
    return run(cache, job, control)


def draw(
    cache: ModelCache,
    entry: ModelEntry,
    prompts: list[str],
    negative: str,
    run: dict,
    seeds: list[int],
    control: RunControl | None = None,
) -> tuple[list[Image.Image], str]:
    """One picture per prompt (picture i from prompt i and seed i), and the sampler's name, without receipts.
    Requests that share the model and settings may be drawn in one call with others (models/batching.py)."""
    return batcher_for(cache).draw(entry, prompts, negative, run, seeds, control)

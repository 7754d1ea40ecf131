"""Runs a batch of text-to-image requests on one ModelCache, each answered as if it ran alone.

Requests that share model, size, steps, guidance and negative prompt (the model fixes the scheduler)
are compatible. With share_draws they share one diffusion call: pipelines.text2image.draw draws
picture i from prompt i and seed i. On CPU the BLAS kernels depend on the batch size, so a shared
call can move a few pixels by 1/255 from what the request gives alone (tests/test_ray.py measures
it); without share_draws each request is drawn alone, exactly as pipelines.text2image.run draws it.
Verify-and-refine requests always run alone. No Ray here: the Serve deployment and the Ray Data
actors both call run_jobs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from pipelines import inputs, text2image
from pipelines.batching import Preview
from pipelines.prompt_expansion import prompt_for
from pipelines.results import NONE, GenerateRequest, Generation, Picture, png_parameters
from pipelines.text2image import Progress
from zoo.cache import ModelCache
from zoo.errors import AtelierError
from zoo.registry import ModelEntry


@dataclass
class Prepared:
    """One plain request, read and expanded, ready to draw."""

    request: str
    negative: str
    entry: ModelEntry
    run: dict
    used: str
    seeds: list[int]

    def key(self) -> tuple:
        """Requests with equal keys may share one diffusion call."""
        return (
            self.entry.id,
            self.run["width"],
            self.run["height"],
            self.run["steps"],
            self.run["guidance"],
            self.negative,
        )


def prepare(cache: ModelCache, job: GenerateRequest) -> Prepared:
    """The first half of pipelines.text2image.run: checks, the seeds, the prompt expansion."""
    request, negative, entry, run, seed = text2image.prepare(cache, job)
    count = inputs.number(job.num_images, "Number of images", 1, text2image.MAX_IMAGES, integer=True)
    expander = NONE if job.draw_as_is else inputs.expander_choice(job.expand_with)
    used = prompt_for(cache, entry, request, expander, seed)
    return Prepared(request, negative, entry, run, used, [inputs.offset_seed(seed, i) for i in range(count)])


def groups(prepared: dict[int, Prepared]) -> list[list[int]]:
    """The indices of compatible requests, in order of first arrival."""
    by_key: dict[tuple, list[int]] = {}
    for index, item in prepared.items():
        by_key.setdefault(item.key(), []).append(index)
    return list(by_key.values())


@dataclass
class Hooks:
    """What one request's caller hears, and can do, while it runs."""

    progress: Progress | None = None
    preview: Preview | None = None
    cancel: threading.Event | None = None


def run_jobs(
    cache: ModelCache,
    jobs: list[GenerateRequest],
    share_draws: bool = False,
    hooks: list[Hooks] | None = None,
    done: Callable[[int, object], None] | None = None,
) -> list:
    """One Generation per job, or the AtelierError that job met (one bad request fails alone).
    hooks[i] hears job i's steps and previews; done(i, result) hears each job as soon as it is answered."""
    results: list = [None] * len(jobs)
    hooks = hooks or [Hooks() for _ in jobs]

    def answer(index: int, result) -> None:
        results[index] = result
        if done is not None:
            done(index, result)

    prepared: dict[int, Prepared] = {}
    for index, (job, hook) in enumerate(zip(jobs, hooks)):
        try:
            if job.verify or job.explain or not share_draws:  # explained: maps per row, drawn by run
                answer(index, text2image.run(cache, job, hook.progress, hook.cancel, hook.preview))
            else:
                prepared[index] = prepare(cache, job)
        except AtelierError as e:
            answer(index, e)
    for members in groups(prepared):
        generations: list
        try:
            generations = draw_together(cache, [prepared[i] for i in members], [hooks[i] for i in members])
        except AtelierError as e:
            generations = [e] * len(members)
        for index, generation in zip(members, generations):
            answer(index, generation)
    return results


def _fan_out(items: list[Prepared], hooks: list[Hooks]) -> tuple[Progress, Preview]:
    """One shared draw's progress and previews, handed to each request (previews cut to its own pictures)."""

    def progress(step: int, total: int) -> None:
        for hook in hooks:
            if hook.progress is not None:
                hook.progress(step, total)

    def preview(pictures: list) -> None:
        start = 0
        for item, hook in zip(items, hooks):
            if hook.preview is not None:
                hook.preview(pictures[start : start + len(item.seeds)])
            start += len(item.seeds)

    return progress, preview


def draw_together(cache: ModelCache, items: list[Prepared], hooks: list[Hooks] | None = None) -> list[Generation]:
    """Compatible requests in one diffusion call, cut back into one Generation each. Stop is not
    passed on: the call is shared, so it runs for the others (each caller stops waiting)."""
    first = items[0]
    prompts = [item.used for item in items for _ in item.seeds]
    seeds = [s for item in items for s in item.seeds]
    progress, preview = _fan_out(items, hooks or [Hooks() for _ in items])
    images, sampler = text2image.draw(
        cache, first.entry, prompts, first.negative, first.run, seeds, progress, preview=preview
    )
    out, start = [], 0
    for item in items:
        pictures = [
            Picture(
                image,
                png_parameters(
                    item.used, item.request, item.entry.id, s, sampler, item.run, negative_prompt=item.negative
                ),
            )
            for image, s in zip(images[start : start + len(item.seeds)], item.seeds)
        ]
        out.append(Generation(pictures, item.used))
        start += len(item.seeds)
    return out

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

from collections.abc import Callable
from dataclasses import dataclass

from pipelines import inputs, text2image
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
        return (self.entry.id, self.run["width"], self.run["height"], self.run["steps"], self.run["guidance"],
                self.negative)


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


def run_jobs(cache: ModelCache, jobs: list[GenerateRequest], share_draws: bool = False,
             progress: list[Progress] | None = None, done: Callable[[int, object], None] | None = None) -> list:
    """One Generation per job, or the AtelierError that job met (one bad request fails alone).
    progress[i] hears job i's steps; done(i, result) hears each job as soon as it is answered."""
    results: list = [None] * len(jobs)
    progress = progress or [None] * len(jobs)

    def answer(index: int, result) -> None:
        results[index] = result
        if done is not None:
            done(index, result)

    prepared: dict[int, Prepared] = {}
    for index, job in enumerate(jobs):
        try:
            if job.verify or not share_draws:
                answer(index, text2image.run(cache, job, progress[index]))
            else:
                prepared[index] = prepare(cache, job)
        except AtelierError as e:
            answer(index, e)
    for members in groups(prepared):
        try:
            report = _fan_out([progress[i] for i in members])
            generations = draw_together(cache, [prepared[i] for i in members], report)
        except AtelierError as e:
            generations = [e] * len(members)
        for index, generation in zip(members, generations):
            answer(index, generation)
    return results


def _fan_out(listeners: list) -> Progress:
    def report(step: int, total: int) -> None:
        for listener in listeners:
            if listener is not None:
                listener(step, total)

    return report


def draw_together(cache: ModelCache, items: list[Prepared], progress: Progress | None = None) -> list[Generation]:
    """Compatible requests in one diffusion call, cut back into one Generation each."""
    first = items[0]
    prompts = [item.used for item in items for _ in item.seeds]
    seeds = [s for item in items for s in item.seeds]
    images, sampler = text2image.draw(cache, first.entry, prompts, first.negative, first.run, seeds, progress)
    out, start = [], 0
    for item in items:
        pictures = [
            Picture(image, png_parameters(item.used, item.request, item.entry.id, s, sampler, item.run,
                                          negative_prompt=item.negative))
            for image, s in zip(images[start : start + len(item.seeds)], item.seeds)
        ]
        out.append(Generation(pictures, item.used))
        start += len(item.seeds)
    return out

"""Runs a batch of text-to-image requests on one ModelCache, each answered as if it ran alone.

Requests are compatible as the in-process batcher defines it (pipelines.models.batching.compatible: model,
size, steps, guidance). With share_draws compatible requests are queued together on the batcher, so they
share diffusion calls: picture i depends only on prompt i and seed i. On CPU the BLAS kernels depend on the
batch size, so a shared call can move a few pixels by 1/255 from what the request gives alone
(tests/test_ray.py measures it); without share_draws each request runs alone through pipelines' one generate
entry. Verify-and-refine requests always run alone. No Ray here: the Serve deployment and the Ray Data
actors both call run_jobs.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest
from pipelines.models.batching import compatible
from pipelines.tasks.generate import Planned, draw_planned, plan, run
from zoo.cache import ModelCache
from zoo.errors import AtelierError

prepare = plan  # the first half of a plain run (tests name it so)


def groups(prepared: dict[int, Planned]) -> list[list[int]]:
    """The indices of compatible requests, in order of first arrival."""
    by_key: dict[tuple, list[int]] = {}
    for index, item in prepared.items():
        by_key.setdefault(compatible(item.entry, item.run, item.explain), []).append(index)
    return list(by_key.values())


def run_jobs(
    cache: ModelCache,
    jobs: list[GenerateRequest],
    share_draws: bool = False,
    controls: list[RunControl] | None = None,
    done: Callable[[int, object], None] | None = None,
) -> list:
    """One Generation per job, or the AtelierError that job met (one bad request fails alone).
    controls[i] hears job i's steps and previews; done(i, result) hears each job as soon as it is answered."""
    results: list = [None] * len(jobs)
    controls = controls or [RunControl() for _ in jobs]

    def answer(index: int, result) -> None:
        results[index] = result
        if done is not None:
            done(index, result)

    prepared: dict[int, Planned] = {}
    for index, (job, control) in enumerate(zip(jobs, controls)):
        try:
            if job.verify or not share_draws:
                answer(index, run(cache, job, control))
            else:
                prepared[index] = plan(cache, job)
        except AtelierError as e:
            answer(index, e)
    for members in groups(prepared):
        try:
            generations = draw_planned(cache, [prepared[i] for i in members], [controls[i] for i in members])
        except AtelierError as e:
            generations = [e] * len(members)
        for index, generation in zip(members, generations):
            answer(index, generation)
    return results

"""Verify and refine: a loop over the model's judge. Each round draws N candidates in one batch, the judge
reads and checks each against the request; the loop stops at the first candidate whose receipt is all ticks,
else the judge proposes the next round's prompt from what the best candidate missed.

Candidates of a round differ in what they show (pipelines/models/candidates.py: stochastic DDIM, the
world's readings of the prompt, noise on the text embedding). A world's candidates are not captioned: the
world reads them, and the picture shown first is described by that reading.
"""

from __future__ import annotations

from pipelines.core import inputs
from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest, Generation, Picture, Round, png_parameters
from pipelines.core.settings import prepare
from pipelines.judges import judge_for
from pipelines.judges.receipt import missed, passed
from pipelines.models.candidates import draw_candidates
from pipelines.models.expander import expand
from pipelines.tasks.prompts import expander_for
from zoo.cache import ModelCache
from zoo.errors import BadInput

MAX_CANDIDATES = 8
MAX_ROUNDS = 5


def generate_verified(
    cache: ModelCache,
    prompt: str,
    model_id: str | None = None,
    seed: int | None = None,
    candidates: int = 4,
    rounds: int = 2,
    expand_with: str | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    negative_prompt: str = "",
    control: RunControl | None = None,
) -> Generation:
    """Verify and refine from keyword arguments (see GenerateRequest)."""
    job = GenerateRequest(
        prompt,
        negative_prompt,
        model_id,
        inputs.expander_choice(expand_with),
        steps,
        guidance,
        seed=seed,
        verify=candidates,
        rounds=rounds,
    )
    return run_verified(cache, job, control)


def run_verified(cache: ModelCache, job: GenerateRequest, control: RunControl | None = None) -> Generation:
    """Candidates in rounds until one satisfies everything; `control.preview` is handed each round's pictures."""
    control = control or RunControl()
    request, negative, entry, run, seed = prepare(cache, job)
    if not entry.captioner:
        raise BadInput(f"'{entry.id}' has no captioner in the registry, so its pictures cannot be checked.")
    if job.num_images != 1:
        raise BadInput("Verify and refine shows every candidate, best first: leave Number of images at 1.")
    count = inputs.number(job.verify, "Candidates", 1, MAX_CANDIDATES, integer=True)
    rounds = inputs.number(job.rounds, "Rounds", 1, MAX_ROUNDS, integer=True)
    judge = judge_for(cache, entry)
    expander = None if job.draw_as_is else expander_for(judge, request, job.expand_with)
    used = expand(cache, request, expander, seed) if expander else request
    pool: list[Picture] = []
    history: list[Round] = []
    for round_index in range(rounds):
        seeds = [inputs.offset_seed(seed, round_index * MAX_CANDIDATES + i) for i in range(count)]
        readings = judge.readings(used)
        prompts = [readings[i % len(readings)] for i in range(count)]
        images, sampler = draw_candidates(
            cache, entry, prompts, negative, run, seeds, control.part(round_index, rounds)
        )
        pictures = [
            Picture(
                image,
                png_parameters(prompt, request, entry.id, s, sampler, run, negative_prompt=negative),
                caption=verdict.caption,
                score=verdict.score,
                receipt=verdict.receipt,
            )
            for image, prompt, s, verdict in zip(images, prompts, seeds, judge.judge(request, images))
        ]
        pool += pictures
        control.show([p.image for p in pictures])
        best = max(pictures, key=lambda p: p.score or 0.0)
        captions = [p.caption or "" for p in pictures]  # a world's candidates: no captions
        history.append(
            Round(used, seeds, captions, [p.score or 0.0 for p in pictures], prompts, missed(best.receipt or []))
        )
        if any(passed(p.receipt or []) for p in pictures) or round_index + 1 == rounds:
            break
        used = judge.propose(request, used, pictures, best, expander, inputs.offset_seed(seed, round_index + 1))
    # the first candidate that satisfies everything comes first; then by score (stable: earlier first)
    pool.sort(key=lambda p: (not passed(p.receipt or []), -(p.score or 0.0)))
    if pool[0].caption is None:  # a world's pictures: described by the world's own reading, as checked
        pool[0].caption = judge.describe(pool[0].image)
    return Generation(pool, pool[0].parameters["prompt"], history)

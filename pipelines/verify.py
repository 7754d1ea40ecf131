"""Verify and refine: draw N candidates in one batch, caption them all, score each against the
request, keep the best; where none matches, the prompt model rewrites the prompt and we try again.

A chat prompt model reads the request, the prompt used and the captions of the misses and
writes a better prompt. A completion prompt model cannot read feedback; it draws a fresh
reading of the request with the next seed. Either way each round uses new seeds.
"""
from __future__ import annotations

import threading

from pipelines import inputs
from pipelines.captioning import caption_loaded
from pipelines.prompt_expansion import expand, expander_for
from pipelines.scoring import scorer_for
from pipelines.results import GenerateRequest, Generation, Picture, Round, png_parameters
from pipelines.text2image import Progress, draw, prepare
from zoo.cache import ModelCache
from zoo.errors import BadInput

MAX_CANDIDATES = 8
MAX_ROUNDS = 5
REWRITE_REQUEST = (
    "Request: {request}\nPrompt used: {prompt}\nThe pictures came out as: {misses}\n"
    "Write a better prompt that gets what the request asks for."
)


def generate_verified(cache: ModelCache, prompt: str, model_id: str | None = None, seed: int | None = None,
                      candidates: int = 4, rounds: int = 2, expand_with: str | None = None, steps: int | None = None,
                      guidance: float | None = None, negative_prompt: str = "", progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> Generation:
    """Verify and refine from keyword arguments (see GenerateRequest)."""
    job = GenerateRequest(prompt, negative_prompt, model_id, inputs.expander_choice(expand_with), steps, guidance,
                          seed=seed, verify=candidates, rounds=rounds)
    return run_verified(cache, job, progress, cancel)


def run_verified(cache: ModelCache, job: GenerateRequest, progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> Generation:
    request, negative, entry, run, seed = prepare(cache, job)
    if not entry.captioner:
        raise BadInput(f"'{entry.id}' has no captioner in the registry, so its pictures cannot be checked.")
    if job.num_images != 1:
        raise BadInput("Verify and refine shows every candidate, best first: leave Number of images at 1.")
    count = inputs.number(job.verify, "Candidates", 1, MAX_CANDIDATES, integer=True)
    rounds = inputs.number(job.rounds, "Rounds", 1, MAX_ROUNDS, integer=True)
    captioner = cache.registry.get(entry.captioner)
    score = scorer_for(cache, entry)
    expander = None if job.draw_as_is else expander_for(entry, request, job.expand_with)
    used = expand(cache, request, expander, seed) if expander else request
    pool: list[Picture] = []
    history: list[Round] = []
    for round_index in range(rounds):
        seeds = [inputs.offset_seed(seed, round_index * MAX_CANDIDATES + i) for i in range(count)]
        report = None
        if progress:
            report = lambda done, total, r=round_index: progress(r * total + done, rounds * total)
        images, sampler = draw(cache, entry, [used] * count, negative, run, seeds, report, cancel)
        with cache.use(captioner.id) as vlm:
            captions = caption_loaded(vlm, images, int(captioner.defaults.get("max_new_tokens", 40)))
        scores = score(request, images, captions)
        for image, text, value, s in zip(images, captions, scores, seeds):
            params = png_parameters(used, request, entry.id, s, sampler, run, negative_prompt=negative)
            pool.append(Picture(image, params, caption=text, score=value))
        history.append(Round(used, seeds, captions, scores))
        if max(scores) >= 1.0 or round_index + 1 == rounds:
            break
        used = rewrite(cache, expander, request, used, captions, inputs.offset_seed(seed, round_index + 1))
    pool.sort(key=lambda p: -(p.score or 0.0))  # stable: among equals the earlier candidate stays first
    return Generation(pool, pool[0].parameters["prompt"], history)


def rewrite(cache: ModelCache, expander_id: str | None, request: str, used: str, captions: list[str], seed: int) -> str:
    if not expander_id:
        return used  # nothing can rewrite: the next round only draws new seeds
    expander = cache.registry.get(expander_id)
    if expander.mode == "chat":
        feedback = REWRITE_REQUEST.format(request=request, prompt=used, misses="; ".join(captions))
        return expand(cache, feedback[: inputs.MAX_PROMPT_CHARS], expander_id, seed)
    return expand(cache, request, expander_id, seed)

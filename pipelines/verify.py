"""Verify and refine: draw N candidates in one batch, caption them all, score each against the
request, keep the best; where none matches, the prompt model rewrites the prompt and we try again.

A chat prompt model reads the request, the prompt used and the captions of the misses and
writes a better prompt. A completion prompt model cannot read feedback; it draws a fresh
reading of the request with the next seed. Either way each round uses new seeds.
"""
from __future__ import annotations

import random
import threading

from pipelines import inputs
from pipelines.captioning import caption_loaded
from pipelines.prompt_expansion import expand, expander_for
from pipelines.scoring import scorer_for
from pipelines.text2image import Generation, Progress, draw, settings
from zoo.cache import ModelCache
from zoo.errors import BadInput

MAX_CANDIDATES = 8
MAX_ROUNDS = 5
REWRITE_REQUEST = (
    "Request: {request}\nPrompt used: {prompt}\nThe pictures came out as: {misses}\n"
    "Write a better prompt that gets what the request asks for."
)


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
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Generation:
    request = inputs.prompt(prompt)
    negative = inputs.prompt(negative_prompt, "negative prompt", allow_empty=True)
    entry = cache.registry.pick(model_id, "text-to-image")
    if not entry.captioner:
        raise BadInput(f"'{entry.id}' has no captioner in the registry, so its pictures cannot be checked.")
    count = inputs.number(candidates, "Candidates", 1, MAX_CANDIDATES, integer=True)
    rounds = inputs.number(rounds, "Rounds", 1, MAX_ROUNDS, integer=True)
    run = settings(entry, steps, guidance)
    seed = inputs.seed(seed)
    seed = random.randrange(2**31) if seed is None else seed
    captioner = cache.registry.get(entry.captioner)
    score = scorer_for(cache, entry)

    expand_with = expander_for(entry, request, expand_with)
    used = expand(cache, request, expand_with, seed) if expand_with else request
    pool, history = [], []  # pool: (score, image, caption, params)
    for round_index in range(rounds):
        seeds = [seed + round_index * MAX_CANDIDATES + i for i in range(count)]
        report = None
        if progress:
            report = lambda done, total, r=round_index: progress(r * total + done, rounds * total)  # noqa: E731
        images, sampler = draw(cache, entry, [used] * count, negative, run, seeds, report, cancel)
        with cache.use(captioner.id) as vlm:
            captions = caption_loaded(vlm, images, int(captioner.defaults.get("max_new_tokens", 40)))
        scores = score(request, images, captions)
        for image, text, value, s in zip(images, captions, scores, seeds):
            params = {"prompt": used, "negative_prompt": negative, "request": request, "sampler": sampler,
                      "seed": s, "model": entry.id, **run}
            pool.append((value, image, text, params))
        history.append({"prompt": used, "seeds": seeds, "captions": captions, "scores": scores})
        if max(scores) >= 1.0 or round_index + 1 == rounds:
            break
        used = rewrite(cache, expand_with, request, used, captions, seed + round_index + 1)
    pool.sort(key=lambda item: -item[0])  # stable: among equals the earlier candidate stays first
    return Generation(
        images=[p[1] for p in pool], used_prompt=pool[0][3]["prompt"], parameters=[p[3] for p in pool],
        extra={"captions": [p[2] for p in pool], "scores": [p[0] for p in pool], "rounds": history},
    )


def rewrite(cache: ModelCache, expander_id: str | None, request: str, used: str, captions: list[str], seed: int) -> str:
    if not expander_id:
        return used  # nothing can rewrite: the next round only draws new seeds
    expander = cache.registry.get(expander_id)
    if expander.mode == "chat":
        feedback = REWRITE_REQUEST.format(request=request, prompt=used, misses="; ".join(captions))
        return expand(cache, feedback[: inputs.MAX_PROMPT_CHARS], expander_id, seed)
    return expand(cache, request, expander_id, seed)

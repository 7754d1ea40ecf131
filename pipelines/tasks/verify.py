"""Verify and refine: draw N candidates in one batch, check each against the request, keep the best;
where none satisfies every stated attribute, the next round acts on what was missed.

Candidates of a round differ in what they show (pipelines/candidates.py: stochastic DDIM, the
world's readings of the prompt, noise on the text embedding). Each picture gets a receipt
(pipelines/receipt.py): the starter world reads the picture with its scene parser; hub models get
an approximate GenEval-style check. A world's candidates are not captioned: the world reads them,
and the picture shown first is described by that reading. The loop stops at the first candidate whose receipt is all
ticks. Otherwise the next round draws new noise with a prompt chosen from the misses: a world
model's world picks what to change (World.refine); a chat prompt model is told the missed
attributes by name (REWRITE_REQUEST); a completion prompt model draws a fresh reading.
"""

from __future__ import annotations

import threading

from pipelines import inputs, receipt
from pipelines.batching import Preview
from pipelines.candidates import draw_candidates
from pipelines.captioning import caption_loaded
from pipelines.prompt_expansion import expand, expander_for
from pipelines.results import GenerateRequest, Generation, Picture, Round, png_parameters
from pipelines.scoring import scorer_for
from pipelines.text2image import Progress, prepare
from worlds import world_for
from zoo.cache import ModelCache
from zoo.errors import BadInput

MAX_CANDIDATES = 8
MAX_ROUNDS = 5
REWRITE_REQUEST = (
    "Request: {request}\nPrompt used: {prompt}\nThe pictures came out as: {misses}\n"
    "They missed these attributes: {missed}.\n"
    "Write a better prompt that gets what the request asks for, stating the missed attributes plainly."
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
    return run_verified(cache, job, progress, cancel)


def run_verified(
    cache: ModelCache,
    job: GenerateRequest,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    preview: Preview | None = None,
) -> Generation:
    """Candidates in rounds until one satisfies everything; `preview` is handed each round's pictures."""
    request, negative, entry, run, seed = prepare(cache, job)
    if not entry.captioner:
        raise BadInput(f"'{entry.id}' has no captioner in the registry, so its pictures cannot be checked.")
    if job.num_images != 1:
        raise BadInput("Verify and refine shows every candidate, best first: leave Number of images at 1.")
    count = inputs.number(job.verify, "Candidates", 1, MAX_CANDIDATES, integer=True)
    rounds = inputs.number(job.rounds, "Rounds", 1, MAX_ROUNDS, integer=True)
    world = world_for(entry.world)
    expander = None if job.draw_as_is else expander_for(entry, request, job.expand_with)
    used = expand(cache, request, expander, seed) if expander else request
    pool: list[Picture] = []
    history: list[Round] = []
    for round_index in range(rounds):
        seeds = [inputs.offset_seed(seed, round_index * MAX_CANDIDATES + i) for i in range(count)]
        readings = world.readings(used) if world is not None else [used]
        prompts = [readings[i % len(readings)] for i in range(count)]
        report = None
        if progress:
            report = lambda done, total, r=round_index: progress(r * total + done, rounds * total)
        pictures = check_candidates(cache, entry, request, prompts, negative, run, seeds, report, cancel)
        pool += pictures
        if preview:
            preview([p.image for p in pictures])
        best = max(pictures, key=lambda p: p.score or 0.0)
        history.append(
            Round(
                used,
                seeds,
                [p.caption or "" for p in pictures],
                [p.score or 0.0 for p in pictures],
                prompts,
                receipt.missed(best.receipt or []),
            )
        )  # a world's candidates: no captions
        if any(receipt.passed(p.receipt or []) for p in pictures) or round_index + 1 == rounds:
            break
        used = refine(cache, world, expander, request, used, pictures, best, inputs.offset_seed(seed, round_index + 1))
    # the first candidate that satisfies everything comes first; then by score (stable: earlier first)
    pool.sort(key=lambda p: (not receipt.passed(p.receipt or []), -(p.score or 0.0)))
    if pool[0].caption is None:  # a world's pictures: described by the world's own reading, as checked
        pool[0].caption = _reading(world, pool[0].image)
    return Generation(pool, pool[0].parameters["prompt"], history)


def check_candidates(
    cache: ModelCache,
    entry,
    request: str,
    prompts: list[str],
    negative: str,
    run: dict,
    seeds: list[int],
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[Picture]:
    """One round's candidates, drawn in one batch, each captioned, scored and given its receipt."""
    images, sampler = draw_candidates(cache, entry, prompts, negative, run, seeds, progress, cancel)
    if world_for(entry.world) is not None:  # the world reads the pictures (World.check); no captioner needed
        captions: list = [None] * len(images)
        receipts = receipt.build(cache, entry, request, images)
        scores = [receipt.score(r) for r in receipts]
    else:
        captions = describe(cache, entry, images)
        receipts = receipt.build(cache, entry, request, images, captions)
        scores = scorer_for(cache, entry)(request, images, captions)
    return [
        Picture(
            image,
            png_parameters(prompt, request, entry.id, s, sampler, run, negative_prompt=negative),
            caption=text,
            score=value,
            receipt=r,
        )
        for image, prompt, s, text, value, r in zip(images, prompts, seeds, captions, scores, receipts)
    ]


def _reading(world, image) -> str:
    try:
        return world.read_picture(image)
    except ValueError as e:
        return str(e)


def describe(cache: ModelCache, entry, images: list) -> list[str]:
    """The entry's captioner's caption of each picture."""
    captioner = cache.registry.get(entry.captioner)
    with cache.use(captioner.id) as vlm:
        return caption_loaded(vlm, images, int(captioner.defaults.get("max_new_tokens", 40)))


def refine(
    cache: ModelCache,
    world,
    expander_id: str | None,
    request: str,
    used: str,
    pictures: list[Picture],
    best: Picture,
    seed: int,
) -> str:
    """The next round's prompt, acting on what the best candidate missed."""
    missed = receipt.missed(best.receipt or [])
    if world is not None:
        return world.refine(request, used, missed, seed)
    return rewrite(
        cache,
        expander_id,
        request,
        used,
        [p.caption or "" for p in pictures],
        seed,
        [row for row in best.receipt or [] if not row["ok"]],
    )


def rewrite(
    cache: ModelCache,
    expander_id: str | None,
    request: str,
    used: str,
    captions: list[str],
    seed: int,
    missed: list[dict] | None = None,
) -> str:
    if not expander_id:
        return used  # nothing can rewrite: the next round only draws new seeds
    expander = cache.registry.get(expander_id)
    if expander.mode == "chat":
        named = "; ".join(f"{r['attribute']} (wanted {r['wanted']}, saw {r['seen']})" for r in missed or [])
        feedback = REWRITE_REQUEST.format(
            request=request, prompt=used, misses="; ".join(captions), missed=named or "not known"
        )
        return expand(cache, feedback[: inputs.MAX_PROMPT_CHARS], expander_id, seed)
    return expand(cache, request, expander_id, seed)

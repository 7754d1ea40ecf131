"""Fidelity of a text-to-image model on a list of prompts, measured the same way for any model.

Starter-world models: each picture is read back by the world's scene parser and compared with
what the prompt states (canonical sentences state everything), attribute by attribute; a
picture is right when every stated attribute is right and no other object is present.
Hub models: the mean CLIP score of picture and prompt, through the entry's scorer.

Both also get distribution figures (pipelines/evaluation/distribution.py), named for their feature space:
FD-captioner / KID-captioner (the starter captioner's vision encoder, against the world's own
renderings of the prompts) and IS-parser for a world's models; FD-CLIP / KID-CLIP (against
`references` pictures, when given) and IS-CLIP-prompts for hub models. None of them is FID.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from pipelines.core import inputs
from pipelines.core.settings import settings
from pipelines.evaluation import distribution
from pipelines.judges import judge_for
from pipelines.models.clip import clip_scores, similarities
from pipelines.tasks.generate import draw
from pipelines.tasks.prompts import prompt_for
from pipelines.tasks.verify import generate_verified
from zoo.cache import ModelCache
from zoo.errors import BadInput

BATCH = 16


def evaluate(
    cache: ModelCache,
    prompts: list[str],
    model_id: str | None = None,
    verify: int | None = None,
    rounds: int = 2,
    seed: int = 0,
    steps: int | None = None,
    expand_with: str | None = None,
    references: list | None = None,
) -> dict:
    entry = cache.registry.pick(model_id, "text-to-image")
    prompts = [inputs.prompt(p) for p in prompts]
    if not prompts:
        raise BadInput("Give at least one prompt to evaluate.")
    started = time.perf_counter()
    images, used = [], []
    if verify:
        for i, prompt in enumerate(tqdm(prompts, desc=f"verify {verify}", unit="prompt")):
            result = generate_verified(cache, prompt, entry.id, seed + i * 100, verify, rounds, expand_with, steps)
            images.append(result.images[0])
            used.append(result.used_prompt)
    else:
        run = settings(entry, steps)
        judge = judge_for(cache, entry)
        used = [prompt_for(cache, judge, p, expand_with, seed + i) for i, p in enumerate(prompts)]
        for start in tqdm(range(0, len(prompts), BATCH), desc="generate", unit="batch"):
            chunk = used[start : start + BATCH]
            seeds = [seed + i * 100 for i in range(start, start + len(chunk))]
            images += draw(cache, entry, chunk, "", run, seeds)[0]
    seconds = (time.perf_counter() - started) / len(prompts)
    table = fidelity_table(cache, entry, prompts, images, references)
    return table | {"model": entry.id, "prompts": len(prompts), "verify": verify or 0, "seconds_per_prompt": seconds}


def fidelity_table(cache: ModelCache, entry, prompts: list[str], images: list, references=None) -> dict:
    """The fidelity figures of pictures drawn for `prompts` (here or elsewhere) with their distribution figures."""
    world = judge_for(cache, entry).world
    table = world.fidelity(prompts, images) if world is not None else hub_fidelity(cache, entry, prompts, images)
    table["distribution"] = distribution_figures(cache, entry, prompts, images, references)
    return table


def distribution_figures(cache: ModelCache, entry, prompts: list[str], images: list, references=None) -> dict:
    """FD / KID against reference pictures and an IS-style figure, each named for its feature space."""
    world = judge_for(cache, entry).world
    if world is not None:
        refs = references or [world.reference(p, seed=i) for i, p in enumerate(prompts)]
        out = {}
        if entry.captioner:
            captioner = cache.registry.get(entry.captioner).id
            feats = lambda pictures: distribution.captioner_features(cache, captioner, pictures)  # noqa: E731
            out = distribution.figures(feats(images), feats(refs), "captioner")
        labels = [_reading(world, im) for im in images]
        return out | {"IS-parser": distribution.inception_style_score(distribution.hard_label_probabilities(labels))}
    if not entry.scorer:
        return {}
    out = {}
    if references:
        feats = lambda pictures: distribution.clip_features(cache, entry.scorer, pictures)  # noqa: E731
        out = distribution.figures(feats(images), feats(references), "CLIP")
    sims = np.array(similarities(cache, entry.scorer, images, prompts))
    probabilities = np.exp(100 * (sims - sims.max(1, keepdims=True)))
    probabilities /= probabilities.sum(1, keepdims=True)
    return out | {"IS-CLIP-prompts": distribution.inception_style_score(probabilities)}


def _reading(world, image) -> str:
    """The scene the world reads in a picture (its canonical sentence), or 'unreadable'."""
    try:
        return world.read_picture(image)
    except ValueError:
        return "unreadable"


def hub_fidelity(cache: ModelCache, entry, prompts: list[str], images) -> dict:
    if not entry.scorer:
        raise BadInput(f"'{entry.id}' names no scorer in the registry, so its pictures cannot be scored.")
    scores = [clip_scores(cache, entry.scorer, p, [im])[0] for p, im in zip(prompts, images)]
    return {"clip score": sum(scores) / len(scores)}


def format_table(result: dict) -> str:
    lines = [
        f"model {result['model']}  prompts {result['prompts']}  verify {result['verify']}  "
        f"seconds/prompt {result['seconds_per_prompt']:.3f}"
    ]
    for section in ("attributes", "scenes"):
        for key, value in result.get(section, {}).items():
            lines.append(f"  {key:<28} {100 * value:6.1f} %")
    if "clip score" in result:
        lines.append(f"  {'clip score':<28} {result['clip score']:.3f}")
    for key, value in result.get("distribution", {}).items():
        lines.append(f"  {key:<28} {value:.4f}   ({DESCRIBE.get(key.split('-')[0], '')})")
    return "\n".join(lines)


DESCRIBE = {
    "FD": "Frechet distance to the references in this feature space; not FID, no Inception features",
    "KID": "unbiased MMD^2, cubic kernel, in this feature space; not Inception features",
    "IS": "the Inception Score's formula with this classifier; not the Inception network",
}

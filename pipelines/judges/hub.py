"""The judge of open-world (hub) models: the registry's captioner describes each picture, CLIP (the
registry's `scorer`) and the caption check it approximately against the request (judges/hub_checks.py).

A score is the mean of CLIP's similarity of picture and request and the share of the request's words the
caption repeats (the caption agreement alone without a scorer). The next prompt: a chat prompt model is told
the missed attributes by name (REWRITE_REQUEST); a completion prompt model draws a fresh reading.
"""

from __future__ import annotations

import re

from pipelines.core import inputs
from pipelines.core.results import Picture
from pipelines.judges import hub_checks
from pipelines.judges.base import Receipt, Verdict
from pipelines.models.captioner import describe
from pipelines.models.expander import expand
from worlds.base import World
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

STOPWORDS = {"a", "an", "the", "of", "on", "in", "at", "with", "and", "to", "is", "are", "for", "by", "from", "its"}
REWRITE_REQUEST = (
    "Request: {request}\nPrompt used: {prompt}\nThe pictures came out as: {misses}\n"
    "They missed these attributes: {missed}.\n"
    "Write a better prompt that gets what the request asks for, stating the missed attributes plainly."
)


class HubJudge:
    def __init__(self, cache: ModelCache, entry: ModelEntry):
        self.cache, self.entry = cache, entry
        self.world: World | None = None

    def needs_expansion(self, request: str) -> bool:
        return False

    def readings(self, prompt: str) -> list[str]:
        return [prompt]

    def check(self, request: str, images: list, captions: list | None = None) -> list[Receipt]:
        captions = captions if captions is not None else [None] * len(images)
        return hub_checks.check(self.cache, self.entry, request, images, captions)[0]

    def judge(self, request: str, images: list) -> list[Verdict]:
        captions = self.describe_all(images)
        receipts, clip = hub_checks.check(self.cache, self.entry, request, images, captions, (request,))
        words = word_agreement(request, captions)
        if clip:
            scores = [(min(1.0, max(0.0, c[0])) + w) / 2 for c, w in zip(clip, words)]
        else:
            scores = words
        return [Verdict(c, r, s) for c, r, s in zip(captions, receipts, scores)]

    def describe_all(self, images: list) -> list[str]:
        return describe(self.cache, self.entry.captioner, images) if self.entry.captioner else [""] * len(images)

    def describe(self, image) -> str:
        return self.describe_all([image])[0]

    def propose(
        self, request: str, used: str, pictures: list[Picture], best: Picture, expander: str | None, seed: int
    ) -> str:
        misses = [row for row in best.receipt or [] if not row["ok"]]
        return rewrite(self.cache, expander, request, used, [p.caption or "" for p in pictures], seed, misses)


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


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS and len(w) > 2}


def word_agreement(request: str, captions: list[str]) -> list[float]:
    """The share of the request's words each caption repeats."""
    wanted = _words(request)
    return [len(wanted & _words(c)) / len(wanted) if wanted else 1.0 for c in captions]

"""Which prompt a request is drawn with: as written, or rewritten by a prompt-expansion model."""

from __future__ import annotations

from pipelines.core import inputs
from pipelines.core.results import AUTO, NONE
from pipelines.judges import Judge
from pipelines.models.expander import expand
from zoo.cache import ModelCache


def expander_for(judge: Judge, request: str, expand_with: str | None) -> str | None:
    """The expander model to use, or None. "auto" (or None) means: for a model that only understands
    its world's canonical sentences, its own expander whenever the request is not one; else none."""
    choice = inputs.expander_choice(expand_with)
    if choice == NONE:
        return None
    if choice == AUTO:
        return judge.entry.expander if judge.needs_expansion(request) else None
    return choice


def prompt_for(cache: ModelCache, judge: Judge, request: str, expand_with: str | None, seed: int) -> str:
    """The prompt to draw `request` with."""
    expander = expander_for(judge, request, expand_with)
    return expand(cache, request, expander, seed) if expander else request

"""The run's LoRA adapter on the pipeline while it draws (zoo/adapters.py takes it off afterwards)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from pipelines.core.adapters import where
from zoo import adapters
from zoo.registry import Registry


def wanted(registry: Registry, run: dict, prompts: list[str]) -> bool:
    """Whether the run's adapter goes on for these prompts. An adapter that teaches new words goes on only for
    prompts that name one of them: the others are the base model's pictures, bit for bit, as if no adapter
    had been chosen. An adapter that teaches no words (a style) always goes on."""
    if not run.get("lora"):
        return False
    words = adapters.new_words(where(registry.get(run["lora"])))
    return not words or names_any(words, prompts)


def names_any(words: list[str], prompts: list[str]) -> bool:
    return any(re.search(rf"\b{w}\b", p, re.IGNORECASE) for p in prompts for w in words)


@contextmanager
def adapter_on(registry: Registry, pipe, run: dict, prompts: list[str] | None = None):
    """The pipeline with the run's adapter on, if it asks for one and, where the adapter teaches new words,
    the prompts name one (run["lora_on"] when tasks/generate.plan decided it, else `wanted` for `prompts`)."""
    on = run.get("lora_on", True) if prompts is None else wanted(registry, run, prompts)
    if not run.get("lora") or not on:
        yield pipe
        return
    name = "".join(c if c.isalnum() else "_" for c in run["lora"])
    with adapters.applied(pipe, where(registry.get(run["lora"])), name, float(run["lora_scale"])):
        yield pipe

"""The run's LoRA adapter on the pipeline while it draws (zoo/adapters.py takes it off afterwards)."""

from __future__ import annotations

from contextlib import contextmanager

from pipelines.core.adapters import where
from zoo import adapters
from zoo.registry import Registry


@contextmanager
def adapter_on(registry: Registry, pipe, run: dict):
    """The pipeline with the run's adapter on, if it asks for one."""
    if not run.get("lora"):
        yield pipe
        return
    name = "".join(c if c.isalnum() else "_" for c in run["lora"])
    with adapters.applied(pipe, where(registry.get(run["lora"])), name, float(run["lora_scale"])):
        yield pipe

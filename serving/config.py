"""serving/ray.toml: how many replicas, CPUs, GPUs and what autoscaling bounds each model gets on Ray."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import AtelierError
from zoo.registry import Registry

DEFAULT_CONFIG = Path(__file__).resolve().parent / "ray.toml"
AUTOSCALING_KEYS = {"min_replicas", "max_replicas", "target_ongoing_requests"}
DEFAULTS = {
    "replicas": 1,
    "autoscaling": None,
    "cpus": 0.5,
    "gpus": 0.0,
    "threads": None,
    "memory_budget_gb": None,
    "max_ongoing_requests": 16,
    "max_batch_size": 8,
    "batch_wait_s": 0.01,
    "share_draws": False,
    "retries": 3,
}
BATCH_DEFAULTS = {"actors": 2, "cpus": 1.0, "gpus": 0.0, "batch_size": 8, "threads": None}


class InvalidServingConfig(AtelierError):
    """serving/ray.toml (or a table in it) is not valid."""


@dataclass(frozen=True)
class Placement:
    """One model's deployment settings."""

    replicas: int
    autoscaling: dict | None
    cpus: float
    gpus: float
    threads: int | None  # None: every core of the node, as the in-process backend's torch uses
    memory_budget_gb: float | None
    max_ongoing_requests: int
    max_batch_size: int
    batch_wait_s: float
    share_draws: bool
    retries: int

    def serve_options(self) -> dict:
        """Keyword arguments for serve.deployment(...).options()."""
        options = {
            "max_ongoing_requests": self.max_ongoing_requests,
            "ray_actor_options": {"num_cpus": self.cpus, "num_gpus": self.gpus},
        }
        if self.autoscaling:
            options["autoscaling_config"] = dict(self.autoscaling)
        else:
            options["num_replicas"] = self.replicas
        return options


@dataclass(frozen=True)
class BatchPlacement:
    actors: int
    cpus: float
    gpus: float
    batch_size: int
    threads: int | None


@dataclass(frozen=True)
class ServingConfig:
    defaults: dict
    models: dict[str, dict]
    batch: BatchPlacement
    source: Path

    def placement(self, model_id: str) -> Placement:
        return Placement(**(self.defaults | self.models.get(model_id, {})))


def load_config(path: Path | str | None = None, registry: Registry | None = None) -> ServingConfig:
    """Reads and checks the file; every mistake is one sentence naming the file and the key."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidServingConfig(f"Cannot read the Ray config {path}: {e}.") from None
    _known(data, {"defaults", "models", "batch"}, f"{path}")
    defaults = DEFAULTS | _checked(data.get("defaults", {}), f"{path} [defaults]")
    models = {}
    for model_id, table in data.get("models", {}).items():
        if registry is not None and model_id not in registry.entries:
            raise InvalidServingConfig(f"{path} configures '{model_id}', which is not in the zoo's registry.")
        models[model_id] = _checked(table, f'{path} [models."{model_id}"]')
    batch = BATCH_DEFAULTS | data.get("batch", {})
    _known(batch, set(BATCH_DEFAULTS), f"{path} [batch]")
    for key, value in batch.items():
        if value is not None:
            _number(
                value,
                f"{path} [batch] {key}",
                integer=key in ("actors", "batch_size", "threads"),
                positive=key != "gpus",
            )
    return ServingConfig(defaults, models, BatchPlacement(**batch), path)


def _checked(table, where: str) -> dict:
    if not isinstance(table, dict):
        raise InvalidServingConfig(f"{where} must be a table of settings.")
    _known(table, set(DEFAULTS), where)
    for key, value in table.items():
        if key == "share_draws" and not isinstance(value, bool):
            raise InvalidServingConfig(f"{where} share_draws must be true or false.")
        elif key == "autoscaling":
            _autoscaling(value, where)
        elif key in ("replicas", "max_ongoing_requests", "max_batch_size", "threads"):
            _number(value, f"{where} {key}", integer=True, positive=True)
        elif key in ("retries", "gpus", "batch_wait_s"):
            _number(value, f"{where} {key}", integer=key == "retries", positive=False)
        elif key in ("cpus", "memory_budget_gb"):
            _number(value, f"{where} {key}", positive=True)
    return table


def _autoscaling(value, where: str) -> None:
    needed = {"min_replicas", "max_replicas"}
    if not isinstance(value, dict) or set(value) - AUTOSCALING_KEYS or not needed <= set(value):
        shape = "{ min_replicas, max_replicas[, target_ongoing_requests] }"
        raise InvalidServingConfig(f"{where} autoscaling must be {shape}.")
    _number(value["min_replicas"], f"{where} autoscaling min_replicas", integer=True, positive=False)
    _number(value["max_replicas"], f"{where} autoscaling max_replicas", integer=True, positive=True)
    if value["min_replicas"] > value["max_replicas"]:
        raise InvalidServingConfig(f"{where} autoscaling min_replicas is above max_replicas.")
    _number(value.get("target_ongoing_requests", 2), f"{where} autoscaling target_ongoing_requests", positive=True)


def _known(table: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise InvalidServingConfig(f"{where} has unknown keys {', '.join(unknown)}; known: {known}.")


def _number(value, where: str, integer: bool = False, positive: bool = True) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0 or (positive and value == 0):
        kind = "a whole number" if integer else "a number"
        raise InvalidServingConfig(f"{where} must be {kind} {'above' if positive else 'at least'} 0; got {value!r}.")

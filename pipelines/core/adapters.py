"""The LoRA adapter a text-to-image run asks for, checked against the registry and the chosen model
(pipelines/models/adapters.py puts it on the pipeline for the run alone)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pipelines.core import inputs
from zoo import adapters, hub
from zoo.errors import BadInput
from zoo.registry import ModelEntry, Registry, check_model_id


def adapter_settings(registry: Registry, entry: ModelEntry, lora, scale) -> dict:
    """{} without an adapter; else {lora, lora_scale, lora_hash} for the run's settings and PNG parameters."""
    if lora in (None, "", "none"):
        return {}
    if not isinstance(lora, str):
        raise BadInput("Name the adapter by its id, as the Generate tab lists them.")
    check_model_id(lora)
    adapter = registry.get(lora)
    if adapter.task != "lora":
        raise BadInput(f"'{adapter.id}' is a {adapter.task} model, not a LoRA adapter.")
    if adapter.base != entry.id:
        raise BadInput(f"The adapter '{adapter.id}' is made for {adapter.base}, not {entry.id}; pick that model.")
    strength = inputs.number(scale if scale is not None else adapter.scale, "Adapter scale", 0, 2)
    folder, weights = adapters.locate(where(adapter))
    return {"lora": adapter.id, "lora_scale": strength, "lora_hash": short_hash(folder / weights)}


def where(adapter: ModelEntry) -> Path:
    """The adapter's folder or file on this machine (a hub adapter is fetched)."""
    if adapter.path is not None and adapter.path.is_file():
        return adapter.path
    return hub.resolve(adapter)


def from_argument(registry: Registry, text: str, model_id: str | None) -> tuple[Registry, str, float | None]:
    """`--lora ID_OR_PATH[:SCALE]` of the command line: a registry id, or an adapter folder or .safetensors
    file on this machine (the command line may name paths; the API may not). Returns the registry (with
    the path's entry added), the adapter's id and the scale asked for."""
    name, _, tail = text.rpartition(":")
    try:
        scale: float | None = float(tail) if name else None
    except ValueError:
        scale = None
    name = name if scale is not None else text
    if name in registry.entries:
        return registry, name, scale
    path = Path(name).expanduser()
    if not path.exists():
        raise BadInput(f"--lora {name}: no adapter of the registry has that id, and there is no such file or folder.")
    base = registry.pick(model_id, "text-to-image").id
    label = "".join(c if c.isalnum() or c in "-_." else "-" for c in path.resolve().name)[:80] or "adapter"
    entry = ModelEntry(f"file/{label}", "lora", "load_lora_weights", {}, 0.0, "unknown", path=path.resolve(), base=base)
    return registry.with_entries([entry]), entry.id, scale


def short_hash(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256, as AUTOMATIC1111 writes in "Lora hashes"."""
    stat = path.stat()
    return _hash(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _hash(path: str, mtime: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]

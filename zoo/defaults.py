"""Which models a machine starts with: the real hub models where a GPU can run them and the hub (or the
local cache) can supply them; on a CPU, SD-Turbo with fast decode where its time per picture is under
CPU_SECONDS_LIMIT; else the starter zoo. The rule is data in, choice out, so tests can fake the machine."""

from __future__ import annotations

from dataclasses import dataclass

from zoo import cpu_path, hub
from zoo.registry import Registry

SD_TURBO, SDXL_TURBO = "stabilityai/sd-turbo", "stabilityai/sdxl-turbo"
QWEN, BLIP = "Qwen/Qwen2.5-0.5B-Instruct", "Salesforce/blip-image-captioning-base"
SDXL_MEMORY_GB = 12.0  # SDXL-Turbo is the default only where the budget holds it with room to spare
CPU_SECONDS_LIMIT = 10.0  # on a CPU, a real text-to-image default must draw a picture faster than this


@dataclass(frozen=True)
class Choice:
    models: dict[str, str]  # task -> model id
    reason: str


def choose(
    registry: Registry,
    device: str,
    budget_gb: float,
    hub_reachable: bool,
    override: str | None = None,
    cpu: cpu_path.Cpu | None = None,
) -> Choice:
    """The default model of each task for this machine (`cpu`: its cores and flags, read when not given), and why."""
    starter = {task: registry.starter_default(task).id for task in ("text-to-image", "prompt-expansion", "captioning")}
    real = {
        "text-to-image": SDXL_TURBO if budget_gb >= SDXL_MEMORY_GB else SD_TURBO,
        "prompt-expansion": QWEN,
        "captioning": BLIP,
    }
    real = {task: model for task, model in real.items() if model in registry.entries}
    if device == "cpu":
        choice = _on_cpu(registry, starter, hub_reachable, cpu or cpu_path.this_cpu())
    elif not real:
        choice = Choice(starter, "the registry lists none of the real models")
    elif hub_reachable or all(_on_disk(registry, m) for m in real.values()):
        size = (
            "SDXL-Turbo fits" if real.get("text-to-image") == SDXL_TURBO else "SD-Turbo (SDXL-Turbo needs more memory)"
        )
        choice = Choice(
            starter | real,
            f"a {device} GPU with {budget_gb:.0f} GB and the hub or a local copy: the real models, {size}",
        )
    else:
        choice = Choice(
            starter,
            f"a {device} GPU, but the real models are not on disk and the hub cannot be "
            "reached: the starter zoo (`python -m zoo fetch` readies a machine for offline use)",
        )
    if override:
        entry = registry.pick(override, "text-to-image")
        choice = Choice(choice.models | {"text-to-image": entry.id}, choice.reason + f"; --default-model {entry.id}")
    return choice


def _on_cpu(registry: Registry, starter: dict[str, str], hub_reachable: bool, cpu: cpu_path.Cpu) -> Choice:
    """SD-Turbo with fast decode when its time per picture on this CPU is under the limit, else the starter."""
    entry = registry.entries.get(SD_TURBO)
    if entry is None or not entry.tiny_vae:
        return Choice(starter, "no GPU, and the registry has no SD-Turbo with a tiny autoencoder: the starter zoo")
    seconds, basis = cpu_path.seconds_per_picture(cpu)
    timed = f"SD-Turbo 512 x 512, fast decode: {seconds:.1f} s per picture ({basis})"
    if seconds >= CPU_SECONDS_LIMIT:
        return Choice(starter, f"no GPU: the starter zoo ({timed}, over the {CPU_SECONDS_LIMIT:.0f} s limit)")
    if not (hub_reachable or all(_on_disk(registry, m) for m in (SD_TURBO, entry.tiny_vae))):
        return Choice(starter, f"no GPU and no hub, SD-Turbo not on disk: the starter zoo ({timed})")
    return Choice(starter | {"text-to-image": SD_TURBO}, f"a CPU: {timed}, under the {CPU_SECONDS_LIMIT:.0f} s limit")


def _on_disk(registry: Registry, model_id: str) -> bool:
    return hub.state(registry.get(model_id)) == "on disk"

"""Where the models run. The UI, the API and the CLI call a backend; the default runs every pipeline in this
process on one ModelCache. Another backend (serving/ray_backend.py) offers the same methods."""

from __future__ import annotations

from typing import Protocol

from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest, Generation, Picture, Stylized
from pipelines.models import decode
from pipelines.models.expander import expand
from pipelines.tasks import chat as chatting
from pipelines.tasks import edit as editing
from pipelines.tasks import generate, stylize
from pipelines.tasks.caption import caption
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import Registry

UNLOADED, BUSY, NOT_LOADED = "unloaded", "busy", "not loaded"  # what unload() answers


class Backend(Protocol):
    registry: Registry
    device: str  # where the models run: "cpu", "cuda", "mps" in process; "ray" on Ray Serve

    def generate(self, job: GenerateRequest, control: RunControl | None = None) -> Generation:
        """Plain or verified (job.verify); every picture with its receipt."""
        ...

    def stylize(
        self,
        image,
        style: str,
        model_id: str | None = None,
        strength: float | None = None,
        seed: int | None = None,
        control: RunControl | None = None,
    ) -> Stylized: ...

    def edit(
        self, image, instruction: str, model_id=None, seed=None, steps=None, verify=None, control=None
    ) -> editing.Edited: ...

    def inpaint(self, image, mask, prompt: str, model_id=None, seed=None, control=None) -> editing.Edited: ...

    def outpaint(self, image, side: str, prompt: str, model_id=None, seed=None, control=None) -> editing.Edited: ...

    def chat(
        self, conversation, message: str, model_id=None, seed=None, control=None
    ) -> tuple[chatting.Conversation, dict]:
        """(the conversation, its new turn) after one message (pipelines/tasks/chat.py)."""
        ...

    def caption(self, pictures: list, model_id: str | None = None) -> list[str]: ...

    def expand(self, request: str, model_id: str | None = None, seed: int | None = None) -> str: ...

    def where(self) -> str:
        """One sentence: where the models run and how much memory they may hold."""
        ...

    def model_states(self) -> dict[str, str]:
        """Every registry entry's id and its state (loaded where, on disk, or to download)."""
        ...

    def loaded(self) -> list[str]:
        """The ids of the models loaded now."""
        ...

    def load(self, model_id: str) -> None: ...

    def unload(self, model_id: str) -> str:
        """UNLOADED, BUSY (a job holds it) or NOT_LOADED."""
        ...

    def add_entries(self, entries: list) -> None:
        """Registry entries added while serving (adapters the Train tab made)."""
        ...


def decoded(images: list, parameters: list[dict]) -> Generation:
    """Pictures decoded in full, as a Generation (the in-process backend's and a Ray replica's answer)."""
    pictures = [Picture(image, p) for image, p in zip(images, parameters)]
    return Generation(pictures, pictures[0].parameters.get("prompt", ""))


class LocalBackend:
    """Every pipeline in this process, on one memory-budgeted ModelCache."""

    def __init__(self, cache: ModelCache):
        self.cache = cache

    @property
    def registry(self) -> Registry:
        return self.cache.registry

    @property
    def device(self) -> str:
        return self.cache.device

    def generate(self, job: GenerateRequest, control: RunControl | None = None) -> Generation:
        return generate.run(self.cache, job, control)

    def stylize(self, image, style, model_id=None, strength=None, seed=None, control=None) -> Stylized:
        return stylize.stylize(
            self.cache, image, style, model_id=model_id, strength=strength, seed=seed, control=control
        )

    def edit(self, image, instruction, model_id=None, seed=None, steps=None, verify=None, control=None):
        return editing.edit(
            self.cache, image, instruction, model_id=model_id, seed=seed, steps=steps, verify=verify, control=control
        )

    def inpaint(self, image, mask, prompt, model_id=None, seed=None, control=None):
        return editing.inpaint(self.cache, image, mask, prompt, model_id=model_id, seed=seed, control=control)

    def outpaint(self, image, side, prompt, model_id=None, seed=None, control=None):
        return editing.outpaint(self.cache, image, side, prompt, model_id=model_id, seed=seed, control=control)

    def chat(self, conversation, message, model_id=None, seed=None, control=None):
        return chatting.turn(self.cache, conversation, message, model_id, seed, control)

    def caption(self, pictures, model_id=None) -> list[str]:
        return caption(self.cache, pictures, model_id=model_id)

    def expand(self, request, model_id=None, seed=None) -> str:
        return expand(self.cache, request, model_id, seed)

    def decode_full(self, keys: list) -> Generation:
        """Fast pictures decoded again in full from their kept latents (pipelines/models/decode.py)."""
        return decoded(*decode.all_in_full(self.cache, keys))

    def cpu_levers(self) -> list:
        """On a CPU, the levers diffusion models load with (zoo/cpu_path.py); else none."""
        return list(self.cache.cpu_levers)

    def where(self) -> str:
        cache = self.cache
        return (
            f"Models run on **{cache.device}** with a memory budget of **{cache.budget_bytes / 2**30:.1f} GB**; "
            "they load on first use and the least recently used ones are unloaded to make room."
        )

    def model_states(self) -> dict[str, str]:
        return {e.id: self.cache.state(e) for e in self.registry.entries.values()}

    def loaded(self) -> list[str]:
        return list(self.cache.loaded())

    def load(self, model_id: str) -> None:
        entry = self.registry.get(model_id)  # an unknown id gets its sentence before anything loads
        if entry.task == "lora":
            raise BadInput(f"'{model_id}' is a LoRA adapter: it is put on its model for each run (Generate: Adapter).")
        self.cache.get(model_id)

    def add_entries(self, entries: list) -> None:
        self.cache.registry = self.registry.with_entries(entries)

    def unload(self, model_id: str) -> str:
        self.registry.get(model_id)
        if self.cache.unload(model_id):
            return UNLOADED
        return BUSY if model_id in self.cache.loaded() else NOT_LOADED

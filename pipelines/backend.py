"""Where the models run. The UI and the API call a backend; the default runs every pipeline in this
process on one ModelCache. Another backend (serving/ray_backend.py) offers the same methods."""

from __future__ import annotations

import threading
from typing import Protocol

from pipelines import captioning, decode, prompt_expansion, receipt, style_transfer, text2image
from pipelines.batching import Preview
from pipelines.results import GenerateRequest, Generation, Picture, Stylized
from pipelines.text2image import Progress
from zoo.cache import ModelCache


class Backend(Protocol):
    def generate(
        self,
        job: GenerateRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: Preview | None = None,
    ) -> Generation: ...

    def stylize(
        self,
        image,
        style: str,
        model_id: str | None = None,
        strength: float | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Stylized: ...

    def caption(self, pictures: list, model_id: str | None = None) -> list[str]: ...

    def expand(self, request: str, model_id: str | None = None, seed: int | None = None) -> str: ...


class LocalBackend:
    """Every pipeline in this process, on one memory-budgeted ModelCache."""

    def __init__(self, cache: ModelCache):
        self.cache = cache

    def generate(self, job, progress=None, cancel=None, preview=None) -> Generation:
        """The pictures, each with its receipt (plain runs get theirs after drawing, off the model)."""
        result = text2image.run(self.cache, job, progress, cancel, preview)
        return receipt.attach(self.cache, job.model, job.prompt, result)

    def stylize(self, image, style, model_id=None, strength=None, seed=None, progress=None, cancel=None) -> Stylized:
        return style_transfer.stylize(
            self.cache, image, style, model_id=model_id, strength=strength, seed=seed, progress=progress, cancel=cancel
        )

    def caption(self, pictures, model_id=None) -> list[str]:
        return captioning.caption(self.cache, pictures, model_id=model_id)

    def expand(self, request, model_id=None, seed=None) -> str:
        return prompt_expansion.expand(self.cache, request, model_id, seed)

    def decode_full(self, keys: list) -> Generation:
        """Fast pictures decoded again in full from their kept latents (pipelines/decode.py)."""
        pictures = [Picture(*decode.in_full(self.cache, key)) for key in keys]
        return Generation(pictures, pictures[0].parameters.get("prompt", ""))

"""The Ray Serve deployments: one per model, each replica with its own memory-budgeted ModelCache.

A text-to-image replica also runs the model's expander, captioner and scorer in its own cache
(prompt expansion inside a generate, verify and refine) and the image-to-image form for
stylize (from_pipe, same weights). Errors a person should read come back as values
(AtelierError instances), so they cross the process boundary as themselves.
"""
from __future__ import annotations

import asyncio
import os

from ray import serve

from pipelines import captioning, prompt_expansion, style_transfer
from serving.batching import run_jobs
from serving.cluster import torch_threads
from serving.config import Placement
from zoo.errors import AtelierError


class _Replica:
    def __init__(self, registry_path: str, placement: Placement):
        import torch

        from zoo.cache import ModelCache
        from zoo.registry import load_registry

        torch.set_num_threads(placement.threads or torch_threads())
        self.cache = ModelCache(load_registry(registry_path), budget_gb=placement.memory_budget_gb)

    async def pid(self) -> int:
        """The replica's process id (the fault tests kill it)."""
        return os.getpid()

    async def _run(self, fn, *args, **kwargs):
        try:
            return await asyncio.to_thread(fn, self.cache, *args, **kwargs)
        except AtelierError as e:
            return e


class TextToImage(_Replica):
    def __init__(self, registry_path: str, placement: Placement):
        super().__init__(registry_path, placement)
        self.share_draws = placement.share_draws
        self.draw_batch.set_max_batch_size(placement.max_batch_size)
        self.draw_batch.set_batch_wait_timeout_s(placement.batch_wait_s)

    async def generate(self, job):
        return await self.draw_batch(job)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def draw_batch(self, jobs: list) -> list:
        """The requests that arrived together: compatible ones grouped, each answered as if alone."""
        return await asyncio.to_thread(run_jobs, self.cache, jobs, self.share_draws)

    async def stylize(self, image, style, model_id, strength, seed):
        return await self._run(style_transfer.stylize, image, style, model_id=model_id, strength=strength, seed=seed)


class Captioner(_Replica):
    async def caption(self, pictures, model_id):
        return await self._run(captioning.caption, pictures, model_id=model_id)


class Expander(_Replica):
    async def expand(self, request, model_id, seed):
        return await self._run(prompt_expansion.expand, request, model_id, seed)


KINDS = {"text-to-image": TextToImage, "captioning": Captioner, "prompt-expansion": Expander}


def application(task: str, model_id: str, registry_path: str, placement: Placement):
    """The bound Serve application for one model."""
    name = KINDS[task].__name__
    deployment = serve.deployment(KINDS[task], name=name).options(**placement.serve_options())
    return deployment.bind(registry_path, placement)


def app_name(model_id: str) -> str:
    return "atelier-" + "".join(c if c.isalnum() else "-" for c in model_id.lower())

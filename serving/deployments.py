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
    """Streams, per request: ("progress", step, steps) as the diffusion runs, then ("done", answer)."""

    def __init__(self, registry_path: str, placement: Placement):
        super().__init__(registry_path, placement)
        self.share_draws = placement.share_draws
        self.draw_batch.set_max_batch_size(placement.max_batch_size)
        self.draw_batch.set_batch_wait_timeout_s(placement.batch_wait_s)

    async def generate(self, job):
        async for item in self.draw_batch(job):
            yield item

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def draw_batch(self, jobs: list):
        """The requests that arrived together: compatible ones grouped, each answered as soon as it is
        drawn and as if alone. Each yield holds one item per request (None: no news for it)."""
        events = _Events(len(jobs))
        work = asyncio.to_thread(run_jobs, self.cache, jobs, self.share_draws,
                                 [events.progress(i) for i in range(len(jobs))], events.done)
        async for batch in events.stream(work):
            yield batch

    async def stylize(self, image, style, model_id, strength, seed):
        events = _Events(1)

        def work():
            try:
                result = style_transfer.stylize(self.cache, image, style, model_id=model_id, strength=strength,
                                                seed=seed, progress=events.progress(0))
            except AtelierError as e:
                result = e
            events.done(0, result)

        async for batch in events.stream(asyncio.to_thread(work)):
            yield batch[0]


class _Events:
    """What worker threads report for the requests of one batch, handed to the event loop in order."""

    def __init__(self, size: int):
        self.size, self.finished = size, set()
        self.loop, self.queue = asyncio.get_running_loop(), asyncio.Queue()

    def progress(self, index: int):
        def report(step: int, total: int) -> None:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (index, ("progress", step, total)))

        return report

    def done(self, index: int, result) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (index, ("done", result)))

    async def stream(self, work):
        task = asyncio.ensure_future(work)
        task.add_done_callback(lambda _: self.queue.put_nowait(None))
        while (item := await self.queue.get()) is not None:
            index, event = item
            batch = [StopIteration if i in self.finished else None for i in range(self.size)]
            batch[index] = event
            if event[0] == "done":
                self.finished.add(index)
            yield batch
        await task  # a bug in the work (not an AtelierError) reaches every caller


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

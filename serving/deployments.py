"""The Ray Serve deployments: one per model, each replica with its own memory-budgeted ModelCache.

A text-to-image replica also runs the model's expander, captioner and scorer in its own cache
(prompt expansion inside a generate, verify and refine) and the image-to-image form for
stylize (from_pipe, same weights). Errors a person should read come back as values
(AtelierError instances), so they cross the process boundary as themselves.
"""

from __future__ import annotations

import asyncio
import os
import threading

from ray import serve

from pipelines.core.control import RunControl
from pipelines.models import decode
from pipelines.models.expander import expand
from pipelines.tasks import chat, edit, stylize
from pipelines.tasks.caption import caption
from serving.batching import run_jobs
from serving.cluster import torch_threads
from serving.config import Placement
from zoo.adapters import with_trained
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
    """Streams, per request: ("update", (step, steps) or None, preview pictures or None) as the diffusion
    runs, then ("done", answer, (step, steps) or None). A request cancelled by its caller stops at the next step."""

    def __init__(self, registry_path: str, placement: Placement):
        super().__init__(registry_path, placement)
        self.share_draws = placement.share_draws
        self.draw_batch.set_max_batch_size(placement.max_batch_size)  # type: ignore[attr-defined]
        self.draw_batch.set_batch_wait_timeout_s(placement.batch_wait_s)  # type: ignore[attr-defined]

    async def generate(self, job, previews: bool = False):
        """`previews`: make preview pictures during the run (they cost a decode each)."""
        self.cache.registry = with_trained(self.cache.registry, job.lora)  # one the Train tab made since
        cancel = threading.Event()
        try:
            async for item in self.draw_batch((job, cancel, previews)):
                yield item
        except (asyncio.CancelledError, GeneratorExit):
            cancel.set()
            raise

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def draw_batch(self, requests: list):
        """The requests that arrived together: compatible ones grouped, each answered as soon as it is
        drawn and as if alone. Each yield holds one item per request (None: no news for it)."""
        events = _Events([cancel for _, cancel, _ in requests])
        controls = [events.control(i, previews) for i, (_, _, previews) in enumerate(requests)]
        work = asyncio.to_thread(
            run_jobs, self.cache, [job for job, _, _ in requests], self.share_draws, controls, events.done
        )
        async for batch in events.stream(work):
            yield batch

    async def decode_full(self, keys):
        """(images, parameters) of fast pictures this replica drew, decoded in full from their kept latents."""
        return await self._run(decode.all_in_full, keys)

    async def stylize(self, image, style, model_id, strength, seed):
        async for item in self._one(stylize.stylize, image, style, model_id=model_id, strength=strength, seed=seed):
            yield item

    async def edit(self, image, instruction, model_id, seed, steps, verify):
        async for item in self._one(
            edit.edit, image, instruction, model_id=model_id, seed=seed, steps=steps, verify=verify
        ):
            yield item

    async def inpaint(self, image, mask, prompt, model_id, seed):
        async for item in self._one(edit.inpaint, image, mask, prompt, model_id=model_id, seed=seed):
            yield item

    async def outpaint(self, image, side, prompt, model_id, seed):
        async for item in self._one(edit.outpaint, image, side, prompt, model_id=model_id, seed=seed):
            yield item

    async def chat(self, conversation, message, model_id, seed):
        async for item in self._one(chat.turn, conversation, message, model_id, seed):
            yield item

    async def _one(self, fn, *args, **kwargs):
        """fn(cache, *args, control=..., **kwargs) alone, its steps streamed like generate's (no previews)."""
        events = _Events([threading.Event()])

        def work():
            try:
                result = fn(self.cache, *args, control=events.control(0), **kwargs)
            except AtelierError as e:
                result = e
            events.done(0, result)

        try:
            async for batch in events.stream(asyncio.to_thread(work)):
                yield batch[0]
        except (asyncio.CancelledError, GeneratorExit):
            events.cancels[0].set()
            raise


class _Events:
    """What worker threads report for the requests of one batch, handed to the event loop; whatever
    piled up meanwhile goes out in one yield (the latest step and preview per request)."""

    def __init__(self, cancels: list[threading.Event]):
        self.cancels, self.finished = cancels, set[int]()
        self.loop, self.queue = asyncio.get_running_loop(), asyncio.Queue[tuple | None]()

    def control(self, index: int, previews: bool = False) -> RunControl:
        preview = (lambda pictures: self._put(index, "preview", pictures)) if previews else None
        return RunControl(lambda step, total: self._put(index, "step", (step, total)), self.cancels[index], preview)

    def done(self, index: int, result) -> None:
        self._put(index, "done", result)

    def _put(self, index: int, kind: str, value) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (index, kind, value))

    async def stream(self, work):
        task = asyncio.ensure_future(work)
        task.add_done_callback(lambda _: self.queue.put_nowait(None))
        ended = False
        while not ended:
            items = [await self.queue.get()]
            while not self.queue.empty():
                items.append(self.queue.get_nowait())
            news: dict[int, dict] = {}
            for item in items:
                if item is None:
                    ended = True
                else:
                    news.setdefault(item[0], {})[item[1]] = item[2]
            if news:
                yield self._batch(news)
        await task  # a bug in the work (not an AtelierError) reaches every caller

    def _batch(self, news: dict[int, dict]) -> list:
        batch: list = [StopIteration if i in self.finished else None for i in range(len(self.cancels))]
        for index, kinds in news.items():
            if "done" in kinds:  # with the last step, if it came in the same drain
                batch[index] = ("done", kinds["done"], kinds.get("step"))
                self.finished.add(index)
            else:
                batch[index] = ("update", kinds.get("step"), kinds.get("preview"))
        return batch


class Captioner(_Replica):
    async def caption(self, pictures, model_id):
        return await self._run(caption, pictures, model_id=model_id)


class Expander(_Replica):
    async def expand(self, request, model_id, seed):
        return await self._run(expand, request, model_id, seed)


KINDS = {"text-to-image": TextToImage, "captioning": Captioner, "prompt-expansion": Expander}


def application(task: str, model_id: str, registry_path: str, placement: Placement):
    """The bound Serve application for one model."""
    name = KINDS[task].__name__
    deployment = serve.deployment(name=name, **placement.serve_options())(KINDS[task])
    return deployment.bind(registry_path, placement)


def app_name(model_id: str) -> str:
    return "atelier-" + "".join(c if c.isalnum() else "-" for c in model_id.lower())

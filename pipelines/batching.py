"""Cross-request batching beside the model cache.

Requests that arrive while a text-to-image model is busy, and share what one pipeline call must share
(model, size, steps, guidance, scheduler), are drawn together in its next call; prompts, negative
prompts and seeds may differ. A batch holds at most the model's `max_batch` pictures (registry). A lone
request never waits; while requests arrive together, a call waits CROWD_WAIT for company (or `max_wait`
when set). Picture i still depends only on its own prompt and seed; batched kernels may round
differently from a batch of one (measured: at most 1 level in 255 on a few pixels), so a registry
`max_batch = 1` turns batching off where bit-exact replays matter.

Why not Gradio's `batch=True`: it batches whole events, so it cannot keep incompatible settings apart,
stream per-request previews, or serve the command line; this batcher sits where the model is called.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image

from pipelines import decode
from pipelines.previews import Previewer, preview_steps
from zoo.cache import ModelCache
from zoo.errors import AtelierError, Cancelled, OutOfMemory
from zoo.registry import ModelEntry

Progress = Callable[[int, int], None]
Preview = Callable[[list[Image.Image]], None]
CANCELLED = "The run was cancelled; nothing was lost, start it again when ready."
CROWD_WAIT = 0.02  # seconds a call waits for company while requests arrive together (never for a lone one)
IDLE_SECONDS = 2.0  # a model's batching thread ends after this long without work


@dataclass
class Group:
    """One caller's pictures: they stay together in one call."""

    prompts: list[str]
    negative: str
    seeds: list[int]
    progress: Progress | None = None
    cancel: threading.Event | None = None
    preview: Preview | None = None
    decode: str = decode.FULL
    kept: list[str] | None = None  # fast pictures: the keys of their kept latents are added here
    done: threading.Event = field(default_factory=threading.Event)
    images: list[Image.Image] = field(default_factory=list)
    sampler: str = ""
    error: BaseException | None = None

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def batcher_for(cache: ModelCache) -> Batcher:
    """The batcher of this cache: one per cache, made on first use and kept on the cache object."""
    with _MAKING:
        if getattr(cache, "batcher", None) is None:
            cache.batcher = Batcher(cache)  # type: ignore[attr-defined]
        return cache.batcher  # type: ignore[attr-defined]


_MAKING = threading.Lock()


class Batcher:
    def __init__(self, cache: ModelCache, max_wait: float = 0.0):
        self.cache, self.max_wait = cache, max_wait
        self.previewer = Previewer()
        self._pending: dict[tuple, list[Group]] = {}
        self._workers: set[tuple] = set()
        self._cond = threading.Condition()
        self.batch_sizes: list[int] = []  # pictures per pipeline call, in order (tests and benchmarks read it)
        self.steps_run = 0  # denoising steps run, all calls together
        self._crowded = False  # the last call had company: the next waits CROWD_WAIT for more

    def draw(
        self,
        entry: ModelEntry,
        prompts: list[str],
        negative: str,
        run: dict,
        seeds: list[int],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: Preview | None = None,
        decode_as: str = decode.FULL,
        kept: list[str] | None = None,
    ) -> tuple[list[Image.Image], str]:
        """One picture per prompt (picture i from prompt i and seed i), and the sampler's name. Pictures
        decoded fast keep their latents (pipelines/decode.py); their keys are added to `kept`, in order."""
        cap = self.cap(entry)
        groups = [
            Group(prompts[i : i + cap], negative, seeds[i : i + cap], progress, cancel, preview, decode_as, kept)
            for i in range(0, len(prompts), cap)
        ]
        key = (entry.id, run["steps"], run["guidance"], run["width"], run["height"])
        with self._cond:
            self._pending.setdefault(key, []).extend(groups)
            if key not in self._workers:
                self._workers.add(key)
                threading.Thread(
                    target=self._work, args=(key, entry, run), daemon=True, name=f"batch {entry.id}"
                ).start()
            self._cond.notify_all()
        for group in groups:
            group.done.wait()
            if group.error is not None:
                raise group.error
        return [image for g in groups for image in g.images], groups[0].sampler

    def cap(self, entry: ModelEntry) -> int:
        """Pictures per call: the registry's max_batch, and on a GPU what its free memory allows."""
        cap = max(1, int(entry.defaults.get("max_batch", 8)))
        if self.cache.device == "cuda":
            free, _ = torch.cuda.mem_get_info()
            per_picture = 2**30 * max(0.25, entry.memory_gb / 8)  # activations; a rough, safe share
            cap = min(cap, max(1, int(free // per_picture)))
        return cap

    def _work(self, key: tuple, entry: ModelEntry, run: dict) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending.get(key), timeout=IDLE_SECONDS):
                    self._workers.discard(key)
                    self._pending.pop(key, None)
                    return
            if self.max_wait or self._crowded:  # requests arrive together: let the next ones join this call
                time.sleep(self.max_wait or CROWD_WAIT)
            with self._cond:
                batch = self._take(key, self.cap(entry))
                self._crowded = len(batch) > 1 or bool(self._pending.get(key))
            self._draw(entry, run, batch)

    def _take(self, key: tuple, cap: int) -> list[Group]:
        pending, size = self._pending[key], 0
        batch: list[Group] = []
        while pending and (not batch or size + len(pending[0].prompts) <= cap):
            group = pending.pop(0)
            if group.cancelled():
                group.error = Cancelled(CANCELLED)
                group.done.set()
                continue
            batch.append(group)
            size += len(group.prompts)
        return batch

    def _draw(self, entry: ModelEntry, run: dict, batch: list[Group]) -> None:
        if not batch:
            return
        try:
            try:
                images, sampler = self._call(entry, run, batch)
            except torch.OutOfMemoryError:
                self.cache.free_memory()
                images, sampler = self._retry_smaller(entry, run, batch)
            except Exception:
                if len(batch) == 1:
                    raise
                for group in batch:  # one bad request must not fail the others drawn with it
                    self._draw(entry, run, [group])
                return
            for group in batch:
                group.images, group.sampler = images[: len(group.prompts)], sampler
                images = images[len(group.prompts) :]
                if group.cancelled():
                    group.error = Cancelled(CANCELLED)
        except BaseException as e:  # every caller hears of it; the thread goes on serving
            for group in batch:
                group.error = e
        finally:
            for group in batch:
                group.done.set()

    def _retry_smaller(self, entry: ModelEntry, run: dict, batch: list[Group]):
        """After running out of memory: each request alone, with the autoencoder decoding in tiles."""
        try:
            images, sampler = [], ""
            for group in batch:
                more, sampler = self._call(entry, run, [group], tiled=True)
                images += more
            return images, sampler
        except torch.OutOfMemoryError:
            self.cache.free_memory()
            raise OutOfMemory(
                f"'{entry.id}' ran out of memory even one request at a time; try a smaller size or fewer pictures."
            ) from None

    def _call(self, entry: ModelEntry, run: dict, batch: list[Group], tiled: bool = False):
        prompts = [p for g in batch for p in g.prompts]
        negatives = [g.negative for g in batch for _ in g.prompts]
        seeds = [s for g in batch for s in g.seeds]
        self.batch_sizes.append(len(prompts))
        on_step = self._on_step(entry, batch, run["steps"], max(run["width"], run["height"]) // 8)
        with self.cache.use(entry.id) as pipe:
            if tiled and hasattr(pipe, "enable_vae_tiling"):
                pipe.enable_vae_tiling()
            try:
                out = pipe(
                    prompt=prompts,
                    negative_prompt=negatives if any(negatives) else None,
                    num_inference_steps=run["steps"],
                    guidance_scale=run["guidance"],
                    width=run["width"],
                    height=run["height"],
                    generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
                    callback_on_step_end=on_step,
                    output_type="latent",
                )
                images = self._decode(entry, pipe, batch, out.images)
            finally:
                if tiled and hasattr(pipe, "disable_vae_tiling"):
                    pipe.disable_vae_tiling()
            return images, type(pipe.scheduler).__name__.removesuffix("Scheduler")

    def _decode(self, entry: ModelEntry, pipe, batch: list[Group], latents) -> list[Image.Image]:
        """Each caller's pictures, decoded as it asked; a fast picture's latents are kept for a full decode."""
        images: list[Image.Image] = []
        for group in batch:
            mine, latents = latents[: len(group.prompts)], latents[len(group.prompts) :]
            pictures, group.decode = decode.pictures(self.cache, entry, pipe, mine, group.decode)
            images += pictures
            if group.decode == decode.FAST and group.kept is not None:
                group.kept += [decode.kept_for(self.cache).keep(entry.id, one) for one in mine]
        return images

    def _tiny(self, entry: ModelEntry):
        """The model's tiny autoencoder for previews, or None (then the previewer's own cheap map)."""
        if not entry.tiny_vae:
            return None
        try:
            return self.cache.get(entry.tiny_vae)
        except AtelierError:
            return None

    def _on_step(self, entry: ModelEntry, batch: list[Group], total: int, latent_side: int):
        shown = preview_steps(total, latent_side)

        def on_step_end(pipe, step: int, timestep, tensors: dict) -> dict:
            self.steps_run += 1
            for group in batch:
                if group.progress:
                    group.progress(step + 1, total)
            if all(g.cancelled() for g in batch):
                pipe._interrupt = True
            elif step + 1 in shown and any(g.preview for g in batch):
                pictures = self.previewer.pictures(pipe, tensors["latents"], self._tiny(entry))
                for group in batch:
                    if group.preview and not group.cancelled():
                        group.preview(pictures[: len(group.prompts)])
                    pictures = pictures[len(group.prompts) :]
            return tensors

        return on_step_end

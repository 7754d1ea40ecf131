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
import weakref
from collections import deque
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from PIL import Image

from pipelines.core.control import CANCELLED, RunControl
from pipelines.models import decode
from pipelines.models.adapters import adapter_on
from pipelines.models.diffusion import draw_text, sampler_name
from pipelines.models.explain import explaining
from pipelines.models.previews import Previewer, preview_steps
from zoo.cache import ModelCache
from zoo.errors import AtelierError, Cancelled, OutOfMemory
from zoo.registry import ModelEntry

KEPT_SIZES = 4096  # the latest call sizes a batcher remembers (tests and benchmarks read them)
CROWD_WAIT = 0.02  # seconds a call waits for company while requests arrive together (never for a lone one)
IDLE_SECONDS = 2.0  # a model's batching thread ends after this long without work


@dataclass
class Group:
    """One caller's pictures: they stay together in one call."""

    prompts: list[str]
    negative: str
    seeds: list[int]
    control: RunControl = field(default_factory=RunControl)
    explain: bool = False  # record each picture's word maps (pipelines/models/explain.py)
    words: list = field(default_factory=list)
    finish: decode.Decode = field(default_factory=decode.Decode)  # fast or full; fast: the kept latents' keys
    done: threading.Event = field(default_factory=threading.Event)
    images: list[Image.Image] = field(default_factory=list)
    sampler: str = ""
    error: BaseException | None = None

    def cancelled(self) -> bool:
        return self.control.cancelled()


def compatible(entry: ModelEntry, run: dict, explain: bool = False) -> tuple:
    """Requests with equal keys may share one pipeline call (prompts, negative prompts and seeds may differ);
    explained requests share calls only with each other, and a LoRA adapter (and its scale) with its own."""
    key = (entry.id, run["steps"], run["guidance"], run["width"], run["height"], explain)
    return key + (run.get("lora"), run.get("lora_scale"), run.get("lora_on", True))


def batcher_for(cache: ModelCache) -> Batcher:
    """The batcher of this cache: one per cache, made on first use, gone with the cache."""
    with _MAKING:
        batcher = _BATCHERS.get(cache)
        if batcher is None:
            batcher = _BATCHERS[cache] = Batcher(cache)
        return batcher


_MAKING = threading.Lock()
_BATCHERS: weakref.WeakKeyDictionary[ModelCache, Batcher] = weakref.WeakKeyDictionary()


class Batcher:
    def __init__(self, cache: ModelCache, max_wait: float = 0.0):
        self._cache, self.max_wait = weakref.ref(cache), max_wait  # weak: the batcher must not keep its cache alive
        self.previewer = Previewer()
        self._pending: dict[tuple, list[Group]] = {}
        self._workers: set[tuple] = set()
        self._cond = threading.Condition()
        self.calls = 0  # pipeline calls made
        self._sizes: deque[int] = deque(maxlen=KEPT_SIZES)  # pictures per call, the latest KEPT_SIZES calls
        self.steps_run = 0  # denoising steps run, all calls together
        self._crowded = False  # the last call had company: the next waits CROWD_WAIT for more

    @property
    def cache(self) -> ModelCache:
        cache = self._cache()
        if cache is None:
            raise RuntimeError("the batcher's model cache is gone")
        return cache

    @property
    def batch_sizes(self) -> list[int]:
        """Pictures per pipeline call, in order (the latest KEPT_SIZES calls)."""
        return list(self._sizes)

    def draw(
        self,
        entry: ModelEntry,
        prompts: list[str],
        negative: str,
        run: dict,
        seeds: list[int],
        control: RunControl | None = None,
        words: list | None = None,
        finish: decode.Decode | None = None,
    ) -> tuple[list[Image.Image], str]:
        """One picture per prompt (picture i from prompt i and seed i), and the sampler's name; `words`, when
        given, receives each picture's word maps (pipelines/models/explain.py); `finish`: how the pictures
        are decoded (default: in full), a fast decode adding its kept latents' keys to it."""
        answer = self.draw_together(
            entry, run, [(prompts, negative, seeds, control or RunControl())], words is not None, [finish]
        )
        if words is not None:
            words.extend(answer[0][2])
        return answer[0][:2]

    def draw_together(
        self,
        entry: ModelEntry,
        run: dict,
        requests: list[tuple[list[str], str, list[int], RunControl]],
        explain: bool = False,
        finishes: list[decode.Decode | None] | None = None,
    ) -> list:
        """Several callers' (prompts, negative, seeds, control), queued at once so they share calls where
        the cap allows; per caller (pictures, the sampler's name, and with `explain` each picture's word
        maps), or the error it met (one caller: raised). `finishes`: per caller, how its pictures are decoded."""
        cap = self.cap(entry)
        decodes = [f or decode.Decode() for f in finishes or [None] * len(requests)]
        per_request = [
            [
                Group(prompts[i : i + cap], negative, seeds[i : i + cap], control, explain, finish=finish)
                for i in range(0, len(prompts), cap)
            ]
            for (prompts, negative, seeds, control), finish in zip(requests, decodes)
        ]
        groups = [g for gs in per_request for g in gs]
        key = compatible(entry, run, explain)
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
        answers = []
        for gs in per_request:
            error = next((g.error for g in gs if g.error is not None), None)
            drawn = ([im for g in gs for im in g.images], gs[0].sampler)
            maps = ([w for g in gs for w in g.words],) if explain else ()
            answers.append(error if error is not None else drawn + maps)
        if len(requests) == 1 and isinstance(answers[0], BaseException):
            raise answers[0]
        return answers

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
        self._sizes.append(len(prompts))
        self.calls += 1
        with self.cache.use(entry.id) as pipe, adapter_on(self.cache.registry, pipe, run):
            if tiled and hasattr(pipe, "enable_vae_tiling"):
                pipe.enable_vae_tiling()
            try:
                text = {"prompt": prompts, "negative_prompt": negatives if any(negatives) else None}
                on_step = self._on_step(entry, batch, run["steps"], max(run["width"], run["height"]) // 8)
                recording: AbstractContextManager[list] = (
                    explaining(pipe, prompts, run) if batch[0].explain else nullcontext([])
                )
                with recording as found:
                    latents = draw_text(pipe, text, run, seeds, on_step, output_type="latent")
                images = self._decode(entry, pipe, batch, latents)
            finally:
                if tiled and hasattr(pipe, "disable_vae_tiling"):
                    pipe.disable_vae_tiling()
            for group in batch:  # each request's maps are its own rows of the batch
                group.words, found = found[: len(group.prompts)], found[len(group.prompts) :]
            return images, sampler_name(pipe)

    def _decode(self, entry: ModelEntry, pipe, batch: list[Group], latents) -> list[Image.Image]:
        """Each caller's pictures, decoded as it asked; a fast picture's latents are kept for a full decode."""
        images: list[Image.Image] = []
        for group in batch:
            mine, latents = latents[: len(group.prompts)], latents[len(group.prompts) :]
            pictures, group.finish.mode = decode.pictures(self.cache, entry, pipe, mine, group.finish.mode)
            images += pictures
            if group.finish.mode == decode.FAST:
                group.finish.kept += [decode.kept_for(self.cache).keep(entry.id, one) for one in mine]
        return images

    def _tiny(self, entry: ModelEntry):
        """The model's tiny autoencoder for previews, or None (then the previewer's own cheap picture)."""
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
                group.control.step(step + 1, total)
            if all(g.cancelled() for g in batch):
                pipe._interrupt = True
            elif step + 1 in shown and any(g.control.preview for g in batch):
                pictures = self.previewer.pictures(pipe, tensors["latents"], self._tiny(entry))
                for group in batch:
                    if not group.cancelled():
                        group.control.show(pictures[: len(group.prompts)])
                    pictures = pictures[len(group.prompts) :]
            return tensors

        return on_step_end

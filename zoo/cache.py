"""The one place that loads, shares, keeps and evicts models under a memory budget.

`with cache.use(model_id) as model:` loads the model on first use (one load at a time per
model, however many requests arrive together), keeps it while in use, and runs one job at a
time on it. Least recently used models are unloaded, and their memory freed, to make room.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from zoo import cpu_path, hub
from zoo.errors import BrokenCheckpoint, OutOfMemory
from zoo.registry import ModelEntry, Registry

log = logging.getLogger("atelier.zoo")
# from_pretrained swaps torch's parameter constructors for empty-weight ones while it builds, for the whole
# process; two builds at once in different threads undo each other's swap, so builds take turns.
_BUILD_LOCK = threading.Lock()


@dataclass
class LanguageModel:
    model: Any
    tokenizer: Any


@dataclass
class VisionLanguageModel:
    model: Any
    processor: Any


@dataclass
class _Slot:
    entry: ModelEntry
    value: Any = None
    bytes: int = 0
    load_lock: threading.Lock = field(default_factory=threading.Lock)
    run_lock: threading.RLock = field(default_factory=threading.RLock)
    users: int = 0
    forms: dict[str, Any] = field(default_factory=dict)  # image-to-image, inpainting: from_pipe, same weights


def pick_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def default_budget_gb(device: str) -> float:
    """Most of the free accelerator memory, or half the free system memory on a CPU."""
    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return 0.85 * free / 2**30
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        free = 8 * 2**30
    return 0.5 * free / 2**30


def module_bytes(value: Any) -> int:
    """Bytes held by the tensors of a pipeline or model (shared tensors counted once)."""
    seen, total = set(), 0
    modules = value.components.values() if hasattr(value, "components") else vars(value).values()
    for module in modules:
        if isinstance(module, torch.nn.Module):
            for t in list(module.parameters()) + list(module.buffers()):
                if t.data_ptr() not in seen:
                    seen.add(t.data_ptr())
                    total += t.numel() * t.element_size()
    return total


class ModelCache:
    def __init__(self, registry: Registry, device: str | None = None, budget_gb: float | None = None):
        self.registry = registry
        self.device = device or pick_device()
        self.budget_bytes = int((budget_gb if budget_gb is not None else default_budget_gb(self.device)) * 2**30)
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was built from disk (tests and the Zoo tab read it)
        # half-precision pipelines on a GPU fetch and load a repo's fp16 variant where it has one
        self.prefer_fp16 = self.device == "cuda"
        # diffusion models on a CPU: the levers measured to pay there (zoo/cpu_path.py; the Zoo tab shows them)
        self.cpu_levers = cpu_path.plan(cpu_path.this_cpu()) if self.device == "cpu" else []

    # ------------------------------------------------------------ public

    @contextmanager
    def use(self, model_id: str):
        """The loaded model, held for one job: nobody else runs it and it is not evicted meanwhile."""
        slot = self._acquire(model_id)
        try:
            with slot.run_lock:
                yield slot.value
        finally:
            with self._lock:
                slot.users -= 1

    @contextmanager
    def use_img2img(self, model_id: str):
        """The image-to-image form of a text-to-image model, sharing its weights (from_pipe)."""
        with self._use_form(model_id, "AutoPipelineForImage2Image") as pipe:
            yield pipe

    @contextmanager
    def use_inpaint(self, model_id: str):
        """The inpainting form of a text-to-image model, sharing its weights (from_pipe). With a
        4-channel UNet, diffusers keeps the latents outside the mask by blending them at every step."""
        with self._use_form(model_id, "AutoPipelineForInpainting") as pipe:
            yield pipe

    @contextmanager
    def _use_form(self, model_id: str, auto_class: str):
        """Another form of a loaded text-to-image pipeline, built once by from_pipe and held for one job."""
        slot = self._acquire(model_id)
        try:
            with slot.run_lock:
                if auto_class not in slot.forms:
                    import diffusers

                    form = getattr(diffusers, auto_class).from_pipe(slot.value)
                    form.set_progress_bar_config(disable=True)
                    slot.forms[auto_class] = form
                yield slot.forms[auto_class]
        finally:
            with self._lock:
                slot.users -= 1

    def get(self, model_id: str) -> Any:
        """The loaded model without holding it (for a quick look; jobs should use `use`)."""
        with self.use(model_id) as value:
            return value

    def loaded(self) -> dict[str, int]:
        """Loaded model ids and the bytes each holds."""
        with self._lock:
            return {k: s.bytes for k, s in self._slots.items() if s.value is not None}

    def unload(self, model_id: str) -> bool:
        with self._lock:
            slot = self._slots.get(model_id)
            if slot is None or slot.value is None or slot.users:
                return False
            self._drop(model_id)
        self.free_memory()
        return True

    def state(self, entry: ModelEntry) -> str:
        held = self.loaded().get(entry.id)
        if held is not None:
            return f"loaded ({held / 2**20:.0f} MB on {self.device})"
        return hub.state(entry)

    # ------------------------------------------------------------ loading

    def _acquire(self, model_id: str) -> _Slot:
        entry = self.registry.get(model_id)
        with self._lock:
            slot = self._slots.setdefault(model_id, _Slot(entry))
            slot.users += 1
            self._slots.move_to_end(model_id)
        try:
            with slot.load_lock:
                if slot.value is None:
                    self._make_room(entry)
                    slot.value = self._load(entry)
                    slot.bytes = module_bytes(slot.value)
                    self.loads += 1
                    self._make_room(None)
        except BaseException:
            with self._lock:
                slot.users -= 1
            raise
        return slot

    def _estimate(self, entry: ModelEntry) -> int:
        scale = 2 if self.device == "cpu" and entry.dtype[self.device] == "float32" else 1
        return int(entry.memory_gb * scale * 2**30)

    def _make_room(self, incoming: ModelEntry | None) -> None:
        """Unloads least recently used idle models until the incoming one (or the loaded ones) fit."""
        need = self._estimate(incoming) if incoming else 0
        freed = False
        with self._lock:
            for model_id in list(self._slots):
                if sum(s.bytes for s in self._slots.values()) + need <= self.budget_bytes:
                    break
                slot = self._slots[model_id]
                if slot.value is not None and slot.users == 0:
                    self._drop(model_id)
                    freed = True
        if freed:
            self.free_memory()

    def _drop(self, model_id: str) -> None:
        slot = self._slots.pop(model_id)
        slot.value = None
        slot.forms.clear()
        slot.bytes = 0

    def free_memory(self) -> None:
        gc.collect()
        if self.device == "cuda":
            torch.cuda.empty_cache()

    def _load(self, entry: ModelEntry) -> Any:
        dtype = getattr(torch, entry.dtype[self.device])
        fp16 = self.prefer_fp16 and dtype == torch.float16
        folder = hub.resolve(entry, fp16=fp16)
        variant = "fp16" if fp16 and hub.has_fp16_variant(folder) else None
        started = time.perf_counter()
        try:
            with _BUILD_LOCK:
                value = _build(entry, folder, dtype, variant, cpu_path.preload(entry, folder, self.cpu_levers))
        except torch.OutOfMemoryError:
            raise
        except Exception as e:  # truncated or corrupt safetensors, bad JSON, wrong shapes, missing files...
            log.warning("%s does not load: %s: %s", entry.id, type(e).__name__, e)  # the details stay in the log
            fix = (
                "train it again (see its model card)"
                if entry.is_local
                else "delete it from the cache and download it again"
            )
            raise BrokenCheckpoint(f"'{entry.id}' is on disk but does not load: its files are damaged; {fix}.") from e
        over_budget = self._estimate(entry) > self.budget_bytes
        if over_budget and self.device == "cuda" and hasattr(value, "enable_model_cpu_offload"):
            value.enable_model_cpu_offload()  # weights wait in system memory, each part visits the GPU in turn
        elif over_budget and self.device != "cpu":
            raise OutOfMemory(f"'{entry.id}' needs about {entry.memory_gb:.1f} GB, more than the memory budget allows.")
        else:
            value = _to(value, self.device)
        if self.cpu_levers and cpu_path.applies(entry):
            cpu_path.apply(value, self.cpu_levers, cpu_path.this_cpu())
        self.last_load_seconds = time.perf_counter() - started
        return value


def _build(entry: ModelEntry, folder, dtype, variant: str | None = None, parts: dict | None = None) -> Any:
    """Builds the entry's loader class from a local folder: safetensors only, never remote code. `parts`:
    pipeline components already loaded (zoo/cpu_path.py)."""
    if entry.task == "text-to-image":
        import diffusers

        pipe = getattr(diffusers, entry.loader).from_pretrained(
            folder, dtype=dtype, use_safetensors=True, variant=variant, **(parts or {})
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe
    if entry.task == "vae":
        import diffusers

        return getattr(diffusers, entry.loader).from_pretrained(folder, dtype=dtype, use_safetensors=True).eval()
    import transformers

    model_class = getattr(transformers, entry.loader)
    model = model_class.from_pretrained(folder, dtype=dtype, use_safetensors=True, trust_remote_code=False).eval()
    if entry.task == "prompt-expansion":
        return LanguageModel(model, transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=False))
    return VisionLanguageModel(model, transformers.AutoProcessor.from_pretrained(folder, trust_remote_code=False))


def _to(value: Any, device: str) -> Any:
    if hasattr(value, "to") and not isinstance(value, (LanguageModel, VisionLanguageModel)):
        return value.to(device)
    value.model.to(device)
    return value

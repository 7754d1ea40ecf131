"""Latents to pictures: the full decode (the model's own autoencoder) or the fast one (its tiny
autoencoder, registry `tiny_vae`), and the latents of fast pictures kept for a later full decode.

On a 2-core CPU the SD autoencoder's decode takes longer than the whole one-step drawing before it;
the tiny autoencoder decodes the same latents more than ten times faster, a little softer. A picture
decoded fast can be decoded again in full from its kept latents ("Decode in full"), without drawing again.
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from PIL import Image

from zoo.cache import ModelCache
from zoo.errors import AtelierError, BadInput
from zoo.registry import ModelEntry

log = logging.getLogger("atelier.decode")
FAST, FULL = "fast", "full"
DECODES = (FAST, FULL)
KEPT = 64  # latents kept per app (a 512 x 512 picture's are 64 KB); the oldest go first
GONE = "That picture's latents are no longer kept (only the last {n} fast pictures are); draw it again."


def choice(value, entry: ModelEntry, device: str) -> str:
    """'fast' or 'full'. None or "" picks the machine's default: fast on a CPU where the model has a tiny
    autoencoder. A model without one always decodes in full (its own autoencoder is its fastest)."""
    if value is None or value == "":
        value = FAST if device == "cpu" else FULL
    if not isinstance(value, str) or value not in DECODES:
        raise BadInput(f"Decode takes 'fast' or 'full'; got {str(value)[:40]!r}.")
    return value if entry.tiny_vae else FULL


def pictures(
    cache: ModelCache, entry: ModelEntry, pipe, latents: torch.Tensor, mode: str
) -> tuple[list[Image.Image], str]:
    """The pictures of a batch of latents, decoded fast or in full, and how they were decoded: in full
    when the tiny autoencoder cannot load (not on disk and no hub): the picture is never lost for it."""
    with torch.inference_mode():
        if mode == FAST and entry.tiny_vae:
            try:
                with cache.use(entry.tiny_vae) as tiny:
                    return to_images(fast(tiny, latents)), FAST
            except AtelierError as e:
                log.warning("%s: no fast decode (%s); decoding in full", entry.id, e)
        return to_images(full(pipe, latents)), FULL


def full(pipe, latents: torch.Tensor) -> torch.Tensor:
    """As the diffusers pipelines decode (SDXL's float16 autoencoder in float32), in [-1, 1]."""
    vae = pipe.vae
    upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
    if upcast:
        vae.to(torch.float32)
    try:
        scaled = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
        if getattr(vae.config, "shift_factor", None):
            scaled = scaled + vae.config.shift_factor
        return vae.decode(scaled).sample.float()
    finally:
        if upcast:
            vae.to(torch.float16)


def fast(tiny, latents: torch.Tensor) -> torch.Tensor:
    """The tiny autoencoder's decode, in [-1, 1] (it reads the scaled latents as they are)."""
    return tiny.decode(latents.to(tiny.device, tiny.dtype) / tiny.config.scaling_factor).sample.float()


def to_images(rgb: torch.Tensor) -> list[Image.Image]:
    """As diffusers' image processor rounds them (the same operations, so the same bytes)."""
    array = ((rgb / 2 + 0.5).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a, "RGB") for a in array]


@dataclass
class Decode:
    """How one caller's pictures are decoded (FAST or FULL) and, once decoded fast, their kept latents' keys."""

    mode: str = FULL
    kept: list[str] = field(default_factory=list)


@dataclass
class Kept:
    model: str
    latents: torch.Tensor  # one picture's, on the CPU
    parameters: dict = field(default_factory=dict)  # the fast picture's (pipelines/core/results.png_parameters)


class KeptLatents:
    """The latents of the last KEPT fast pictures, each under an unguessable key."""

    def __init__(self, size: int = KEPT):
        self.size = size
        self._items: OrderedDict[str, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, model: str, latents: torch.Tensor) -> str:
        key = f"{secrets.token_urlsafe(16)}.{model}"  # the model in the key: a Ray backend routes by it
        with self._lock:
            self._items[key] = Kept(model, latents.detach().to("cpu", copy=True))
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return key

    def get(self, key) -> Kept:
        with self._lock:
            kept = self._items.get(key) if isinstance(key, str) else None
        if kept is None:
            raise BadInput(GONE.format(n=self.size))
        return kept


def model_of(key) -> str:
    """The model whose replica keeps a key's latents (the key's tail: token_urlsafe never writes a dot)."""
    token, dot, model = key.partition(".") if isinstance(key, str) else ("", "", "")
    if not (token and dot and model):
        raise BadInput(GONE.format(n=KEPT))
    return model


def kept_for(cache: ModelCache) -> KeptLatents:
    """The kept latents of this cache: one store per cache, made on first use, gone with the cache."""
    with _MAKING:
        store = _STORES.get(cache)
        if store is None:
            store = _STORES[cache] = KeptLatents()
        return store


_MAKING = threading.Lock()
_STORES: weakref.WeakKeyDictionary[ModelCache, KeptLatents] = weakref.WeakKeyDictionary()


def remember(cache: ModelCache, pictures: list) -> None:
    """Keeps each fast picture's parameters beside its latents, for the picture its full decode makes."""
    store = kept_for(cache)
    for picture in pictures:
        if picture.latents:
            store.get(picture.latents).parameters = dict(picture.parameters)


def all_in_full(cache: ModelCache, keys: list) -> tuple[list[Image.Image], list[dict]]:
    """The full decodes of several fast pictures' kept latents, and their parameters."""
    done = [in_full(cache, key) for key in keys]
    return [image for image, _ in done], [parameters for _, parameters in done]


def in_full(cache: ModelCache, key) -> tuple[Image.Image, dict]:
    """The full decode of a fast picture's kept latents, and its parameters (decode: full)."""
    kept = kept_for(cache).get(key)
    entry = cache.registry.get(kept.model)
    with cache.use(entry.id) as pipe:
        images, _ = pictures(cache, entry, pipe, kept.latents[None], FULL)
    return images[0], kept.parameters | {"decode": FULL}

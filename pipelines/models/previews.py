"""Cheap pictures of the latents while a run is under way.

A model with a tiny autoencoder (registry `tiny_vae`) previews through it, from latents pooled to at
most TINY_SIDE a side (a 512 x 512 picture previews at 256 x 256, shown at full size): a tenth of a UNet
step or less on a CPU. Otherwise small latents (a 64 x 64 starter picture has 8 x 8) are decoded by the
model's own autoencoder: that costs less than one denoising step. Larger ones go through a linear
latent-to-RGB map fitted once per model from a few decodes of its own autoencoder, so any VAE gets
previews without a second model.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import torch
from PIL import Image

FULL_DECODE_SIDE = 16  # latents up to 16 x 16 are decoded for real
TINY_SIDE = 32  # the tiny autoencoder previews latents pooled to at most 32 x 32 (pictures of 256 x 256)
PREVIEWS_PER_RUN = 4
SHORT_RUN_STEPS = 6


def preview_steps(total: int, latent_side: int = FULL_DECODE_SIDE + 1) -> set[int]:
    """The steps (1-based) after which a preview is shown: about four a run, never the last (the final
    picture follows), none for one or two steps, and none for a small picture of few steps (a 64 x 64
    starter picture at its 4 steps is done in well under a tenth of a second: a preview would only slow it)."""
    if total < SHORT_RUN_STEPS and latent_side <= FULL_DECODE_SIDE:
        return set()
    every = max(2, total // PREVIEWS_PER_RUN)
    return set(range(every, total, every))


class Previewer:
    """Makes preview pictures; a larger model's latent-to-RGB map is fitted once and kept while its
    autoencoder lives (the map is keyed by the autoencoder itself, so it leaves with the model)."""

    def __init__(self) -> None:
        self._maps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def pictures(self, pipe, latents: torch.Tensor, tiny=None) -> list[Image.Image]:
        with torch.inference_mode():
            if tiny is not None:
                rgb = _tiny_decode(tiny, latents, pipe.vae_scale_factor)
            elif max(latents.shape[-2:]) <= FULL_DECODE_SIDE:
                rgb = _decode(pipe, latents)
            else:
                weight, bias = self._linear_map(pipe, latents)
                rgb = torch.einsum("bchw,cr->brhw", latents.float(), weight) + bias[None, :, None, None]
                rgb = torch.nn.functional.interpolate(rgb, scale_factor=pipe.vae_scale_factor, mode="nearest")
        array = ((rgb.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        return [Image.fromarray(np.ascontiguousarray(a), "RGB") for a in array]

    def _linear_map(self, pipe, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = pipe.vae
        with self._lock:
            if key not in self._maps:
                self._maps[key] = _fit_linear_map(pipe, latents.shape[1])
            return self._maps[key]


def _tiny_decode(tiny, latents: torch.Tensor, scale: int) -> torch.Tensor:
    """The tiny autoencoder's picture of latents pooled to TINY_SIDE, brought up to full size."""
    pool = max(1, -(-max(latents.shape[-2:]) // TINY_SIDE))
    small = torch.nn.functional.avg_pool2d(latents.float(), pool, ceil_mode=True) if pool > 1 else latents
    rgb = tiny.decode(small.to(tiny.device, tiny.dtype) / tiny.config.scaling_factor).sample.float()
    size = (latents.shape[-2] * scale, latents.shape[-1] * scale)
    return torch.nn.functional.interpolate(rgb, size=size, mode="bilinear") if rgb.shape[-2:] != size else rgb


def _decode(pipe, latents: torch.Tensor) -> torch.Tensor:
    vae = pipe.vae
    scaled = latents.to(vae.dtype) / vae.config.scaling_factor
    if getattr(vae.config, "shift_factor", None):
        scaled = scaled + vae.config.shift_factor
    return vae.decode(scaled).sample.float()


def _fit_linear_map(pipe, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Least squares from latent channels to RGB, on decodes of a few seeded random latents."""
    generator = torch.Generator("cpu").manual_seed(0)
    latents = torch.randn(4, channels, 16, 16, generator=generator).to(pipe.vae.device)
    rgb = _decode(pipe, latents)
    rgb = torch.nn.functional.avg_pool2d(rgb, pipe.vae_scale_factor)  # one RGB value per latent pixel
    x = latents.float().permute(0, 2, 3, 1).reshape(-1, channels).cpu()
    x = torch.cat([x, torch.ones(len(x), 1)], dim=1)
    y = rgb.permute(0, 2, 3, 1).reshape(-1, 3).cpu()
    solution = torch.linalg.lstsq(x, y).solution
    return solution[:-1].to(latents.device), solution[-1].to(latents.device)

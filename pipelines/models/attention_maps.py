"""Cross-attention capture (DAAM): while a diffusers pipeline draws, each cross-attention layer of its
UNet also hands its attention probabilities to a recorder, which sums them per picture and per text
token over heads, steps and layers, weighted as `Weighting` says.

The recording processor wraps the layer's own processor and leaves its output untouched (a picture
drawn with the capture on is the picture drawn without it); it recomputes the queries and keys of the
conditional rows only (with classifier-free guidance the UNet's batch is [unconditional,
conditional]: the second half is kept). The original processors come back when the `capture` block
ends, whether the run finished, failed or was stopped.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zoo.errors import BadInput


@dataclass(frozen=True)
class Weighting:
    """Which layers and steps count. `levels`: how many of the UNet's attention resolutions count,
    finest first (0: all of them); `from_step`: the share of the run before which steps are left out
    (0.0: every step counts). The default was chosen by bench/explain.py on the starter model."""

    levels: int = 2
    from_step: float = 0.0

    def counts(self, step: int, steps: int) -> bool:
        return step >= math.floor(self.from_step * steps) or step == steps - 1


DEFAULT = Weighting()


class Recorder:
    """Sums of attention probabilities per attention resolution: {(h, w): (rows, tokens, h, w)}."""

    def __init__(self, rows: int, latent_size: tuple[int, int], steps: int, weighting: Weighting = DEFAULT):
        self.rows, self.latent_size, self.steps, self.weighting = rows, latent_size, steps, weighting
        self.sums: dict[tuple[int, int], torch.Tensor] = {}
        self.calls: dict[str, int] = {}
        self.finest = 0  # pixels of the finest attention resolution

    def add(self, name: str, attn, hidden_states: torch.Tensor, context: torch.Tensor) -> None:
        step = self.calls.get(name, 0)
        self.calls[name] = step + 1
        h, w = self._grid(hidden_states.shape[1])
        if not self.weighting.counts(step, self.steps) or not self._counted(h * w):
            return
        with torch.no_grad():
            hidden_states, context = hidden_states[-self.rows :], context[-self.rows :]  # the conditional rows
            query = attn.head_to_batch_dim(attn.to_q(hidden_states))
            key = attn.head_to_batch_dim(attn.to_k(context))
            probs = attn.get_attention_scores(query.float(), key.float(), None)  # (rows * heads, pixels, tokens)
            probs = probs.view(self.rows, -1, *probs.shape[1:]).sum(1)  # heads summed: (rows, pixels, tokens)
            grid = probs.transpose(1, 2).reshape(self.rows, -1, h, w)
            self.sums[(h, w)] = self.sums[(h, w)] + grid if (h, w) in self.sums else grid

    def _counted(self, pixels: int) -> bool:
        """Whether a layer of this many pixels is among the `levels` finest resolutions (a level halves the side)."""
        self.finest = self.finest or pixels  # a UNet's first cross-attention is at its finest resolution
        level = round(math.log2(self.finest / pixels) / 2)
        return not self.weighting.levels or level < self.weighting.levels

    def _grid(self, pixels: int) -> tuple[int, int]:
        height, width = self.latent_size
        scale = round(math.sqrt(height * width / pixels))
        return math.ceil(height / scale), math.ceil(width / scale)

    def token_maps(self, size: tuple[int, int]) -> torch.Tensor:
        """(rows, tokens, height, width): each counted resolution's sum at the picture's size, added up."""
        total = None
        for hw in self.sums:
            grid = self.sums[hw] / self.sums[hw].sum(1, keepdim=True).clamp_min(1e-12)  # mean probabilities
            up = F.interpolate(grid, size=size, mode="bilinear", align_corners=False)
            total = up if total is None else total + up
        assert total is not None
        return total


class RecordingProcessor:
    """A cross-attention processor: the layer's own result, and its attention probabilities to the recorder
    when called from the recording thread (another request may use the same UNet meanwhile)."""

    def __init__(self, inner, recorder: Recorder, name: str):
        self.inner, self.recorder, self.name = inner, recorder, name
        self.thread = threading.get_ident()

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        out = self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        mine = threading.get_ident() == self.thread
        if mine and encoder_hidden_states is not None and hidden_states.ndim == 3:
            self.recorder.add(self.name, attn, hidden_states, encoder_hidden_states)
        return out


def cross_attention_names(unet) -> list[str]:
    return [name for name in unet.attn_processors if name.endswith("attn2.processor")]


@contextmanager
def capture(unet, recorder: Recorder) -> Iterator[Recorder]:
    """Records into `recorder` what this thread draws while the block runs; the UNet's processors are
    restored after, always. Captures on one UNet take turns (each restores what it found)."""
    names = cross_attention_names(unet)
    if not names:
        raise BadInput("This model has no cross-attention layers, so its words cannot be explained.")
    with _LOCKS_MAKING:
        lock = _LOCKS.setdefault(unet, threading.Lock())
    with lock:
        original = unet.attn_processors
        wrapped = {n: RecordingProcessor(p, recorder, n) if n in names else p for n, p in original.items()}
        unet.set_attn_processor(wrapped)
        try:
            yield recorder
        finally:
            unet.set_attn_processor(original)


_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCKS_MAKING = threading.Lock()

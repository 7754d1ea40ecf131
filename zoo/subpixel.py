"""A nearest-neighbour 2x upsampling followed by a 3 x 3 convolution, computed without the upsampling.

Each output pixel of the pair sees only 2 x 2 input pixels: of the conv's 3 taps along a side, two fall on
the same input row (or column), so their weights add up. The four output phases are four 2 x 2 convs of
the input, interleaved (pixel shuffle): 16 multiply-adds per input pixel and channel pair instead of 36.
The autoencoder's decoder spends a quarter of its time in these layers at 512 x 512 (zoo/cpu_path.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# for output phase 0 the taps (0, 1, 2) fall on input offsets (-1, 0, 0); for phase 1 on (0, 0, +1)
_PHASE_TAPS = (((0,), (1, 2)), ((0, 1), (2,)))


def phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """(4, out, in, 2, 2): the 2 x 2 kernel of each output phase (row phase a, column phase b: index 2a + b)."""
    w = weight.float()
    kernels = []
    for rows in _PHASE_TAPS:
        for cols in _PHASE_TAPS:
            k = torch.stack(
                [torch.stack([w[:, :, list(r)][:, :, :, list(c)].sum((2, 3)) for c in cols], -1) for r in rows], -2
            )
            kernels.append(k)
    return torch.stack(kernels)


def upsampled_conv(x: torch.Tensor, kernels: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """conv3x3(nearest_upsample_2x(x), padding 1) from the phase kernels of `phase_kernels`."""
    n, _, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1))
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    out = torch.empty((n, kernels.shape[1], 2 * h, 2 * w), dtype=x.dtype, memory_format=layout)
    for a in (0, 1):
        for b in (0, 1):
            out[:, :, a::2, b::2] = F.conv2d(padded[:, :, a : a + h + 1, b : b + w + 1], kernels[2 * a + b], bias)
    return out


def install(upsampler: torch.nn.Module) -> bool:
    """Makes a diffusers Upsample2D (nearest 2x, then a 3 x 3 conv with padding 1) compute as above; other
    upsamplers, and calls that name an output size, keep their own way. Returns whether it was installed."""
    conv = getattr(upsampler, "conv", None)
    if not isinstance(conv, torch.nn.Conv2d):
        return False
    plain = (
        conv.kernel_size == (3, 3)
        and conv.padding == (1, 1)
        and conv.stride == (1, 1)
        and conv.groups == 1
        and getattr(upsampler, "interpolate", False)
        and not getattr(upsampler, "use_conv_transpose", False)
        and getattr(upsampler, "norm", None) is None
        and getattr(upsampler, "interpolate_mode", "nearest") == "nearest"
    )
    if not plain:
        return False
    kernels = phase_kernels(conv.weight).to(conv.weight.dtype)
    original = upsampler.forward

    def forward(hidden_states, output_size=None, *args, **kwargs):
        if output_size is not None:
            return original(hidden_states, output_size, *args, **kwargs)
        return upsampled_conv(hidden_states.to(kernels.dtype), kernels, conv.bias)

    upsampler.forward = forward
    return True

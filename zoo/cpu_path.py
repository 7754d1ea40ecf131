"""The CPU path: what a diffusion model is turned into when it loads on a CPU.

Each lever was measured on a 2-core AMD EPYC with AVX-512 BF16 (README, Figures: `python -m bench.cpu_levers`
and `python -m bench.cpu_speed`) and is kept only where it paid there. `plan()` says which are on for this
CPU and why (the Zoo tab shows it); `preload()` and `apply()` turn them on: the UNet is loaded straight in
bfloat16, the decoders are cast in place, one tensor at a time.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from zoo import subpixel

CAST_IN = ("sample", "encoder_hidden_states")  # never the timestep: 999 is 1000 in bfloat16
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # native bfloat16 dot products: bf16 matmuls and convs pay
MIN_GB = 0.5  # text-to-image models this big get the levers; the 20 MB starter stays float32, as trained


@dataclass(frozen=True)
class Lever:
    name: str
    on: bool
    why: str


@dataclass(frozen=True)
class Cpu:
    cores: int  # physical
    flags: frozenset[str]

    @property
    def bf16(self) -> bool:
        return any(flag in self.flags for flag in BF16_FLAGS)


@cache
def this_cpu() -> Cpu:
    return read_cpu(Path("/proc/cpuinfo"))


def read_cpu(cpuinfo: Path) -> Cpu:
    """Physical cores and feature flags from /proc/cpuinfo (elsewhere: os.cpu_count(), no flags)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return Cpu(os.cpu_count() or 1, frozenset())
    flags: set[str] = set()
    cores, physical = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "flags":
            flags |= set(value.split())
        elif key == "physical id":
            physical = value
        elif key == "core id":
            cores.add((physical, value))
    return Cpu(len(cores) or os.cpu_count() or 1, frozenset(flags))


def plan(cpu: Cpu) -> list[Lever]:
    """The levers for a diffusion pipeline on this CPU, on or off, each with the measurement behind it."""
    bf16 = cpu.bf16
    no_bf16 = "this CPU has no native bfloat16 (AVX-512 BF16 or AMX): emulated bf16 is slower than float32"
    return [
        Lever(
            "bfloat16 UNet",
            bf16,
            "loaded straight in bf16, float32 in and out: half the memory; a step took 2.9 s against 4.5 s; "
            "every pixel of a full-decode picture within 8/255 of stock float32"
            if bf16
            else no_bf16,
        ),
        Lever(
            "bfloat16 text encoder",
            bf16,
            "its layers (not the embeddings): SD-Turbo's took 0.17 s against 0.5 s a prompt; the pictures stay "
            "within 8/255 of stock float32"
            if bf16
            else no_bf16,
        ),
        Lever(
            "bfloat16 decoders",
            bf16,
            "the autoencoder's decoder (1.8x less CPU time, every pixel within 8/255 of float32) and the tiny "
            "autoencoder's (1.6x)"
            if bf16
            else no_bf16,
        ),
        Lever(
            "channels-last decoders",
            bf16,
            "oneDNN's bf16 convolutions run faster on channels-last tensors: the full decoder took 7.5 s "
            "against 8.7 s, idle"
            if bf16
            else "measured with bf16 only",
        ),
        Lever(
            "upsampling without the upsampled copy",
            bf16,
            "each nearest 2x upsampling and 3 x 3 conv of the decoder done as four 2 x 2 convs of the input "
            "(zoo/subpixel.py): 2.25x fewer multiply-adds, the decoder 5.2 s against 6.0 s"
            if bf16
            else "measured with bf16 only",
        ),
        Lever("channels-last UNet", False, "the bf16 UNet step took 3.03 s against 3.13 s, idle: within noise"),
        Lever(
            "keep freed memory",
            sys.platform == "linux",
            "glibc hands a picture's large activations back to the system and faults them in again at the next "
            "one; kept (mallopt), a full-decode picture took 11.4 s against 12.2 s, peak memory the same"
            if sys.platform == "linux"
            else "glibc only",
        ),
        Lever("bf16 autocast", False, "casts the float32 weights at every call: the UNet step took twice as long"),
        Lever("SDPA attention", True, "diffusers' default attention processor already calls it"),
        Lever(f"threads = {cpu.cores} physical cores", True, "hyper-threads share one core's vector units"),
        Lever(
            "torch.compile",
            False,
            "inductor with frozen weights: the bf16 decoder took 58 s to compile, then 7.24 s against 7.56 s (4 %)",
        ),
        Lever("OpenVINO", False, "not tried: a second runtime and a converted copy of each model on disk"),
    ]


# SD-Turbo 512 x 512, 1 step, fast decode, on the 2-core AVX-512 BF16 EPYC of bench.cpu_speed, idle (load 1.7
# to 2.1), median of 3 rounds side by side with stock diffusers (20.78 s): README, Figures
RECORDED_SECONDS, RECORDED_CORES = 3.46, 2
NO_BF16_SLOWDOWN = 2.5  # the UNet step in float32 against bfloat16 on that machine, idle (4.46 s against 1.79 s)


def seconds_per_picture(cpu: Cpu) -> tuple[float, str]:
    """SD-Turbo's fast path on this CPU, scaled from the recorded figure by cores (and bf16), and how."""
    seconds = RECORDED_SECONDS * RECORDED_CORES / max(1, cpu.cores)
    if not cpu.bf16:
        seconds *= NO_BF16_SLOWDOWN
    bf16 = "native bfloat16" if cpu.bf16 else "no native bfloat16"
    return seconds, (
        f"recorded {RECORDED_SECONDS:.2f} s on {RECORDED_CORES} AVX-512 BF16 cores (bench.cpu_speed), "
        f"scaled to {cpu.cores} cores, {bf16}"
    )


def applies(entry) -> bool:
    """Whether a registry entry loads through the CPU path: real diffusion models and tiny autoencoders."""
    return entry.task == "vae" or (entry.task == "text-to-image" and entry.memory_gb >= MIN_GB)


def is_on(levers: list[Lever], name: str) -> bool:
    return any(lever.on for lever in levers if lever.name == name)


def preload(entry, folder: Path, levers: list[Lever]) -> dict:
    """Parts of a pipeline to load before the rest, for from_pretrained(folder, **parts): the UNet straight
    in bfloat16, and first. Loaded in float32 and cast later, its float32 weights would stay mapped from
    the safetensors file until the last one was cast, beside the text encoder's: a higher peak than stock's."""
    if not (applies(entry) and entry.task == "text-to-image" and is_on(levers, "bfloat16 UNet")):
        return {}
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", dtype=torch.bfloat16, use_safetensors=True)
    return {"unet": unet}


def apply(value, levers: list[Lever], cpu: Cpu) -> None:
    """Turns the levers on for a diffusers pipeline or a tiny autoencoder, in place."""
    torch.set_num_threads(cpu.cores)
    if is_on(levers, "keep freed memory"):
        keep_freed_memory()
    if hasattr(value, "decoder") and not hasattr(value, "unet"):  # AutoencoderTiny
        _decoder(value.decoder, levers)
        return
    pipe = value
    unet = getattr(pipe, "unet", None)
    if unet is not None and is_on(levers, "bfloat16 UNet"):
        bf16_inside(unet)
    text_encoder = getattr(pipe, "text_encoder", None)
    if text_encoder is not None and is_on(levers, "bfloat16 text encoder"):
        bf16_inside(transformer_layers(text_encoder), cast_all=True)
    vae = getattr(pipe, "vae", None)
    if vae is not None:
        _decoder(vae.decoder, levers)


def transformer_layers(text_encoder: torch.nn.Module) -> torch.nn.Module:
    """The text encoder's stack of layers, without its embeddings and final norm: those stay float32, so the
    model still reports float32 and diffusers keeps the prompt embeddings, latents and image-to-image inputs
    in float32 (its pipelines take their dtype from the text encoder's)."""
    found = [name for name, _ in text_encoder.named_modules() if name.split(".")[-1] == "encoder"]
    return text_encoder.get_submodule(min(found, key=len)) if found else text_encoder


def _decoder(decoder: torch.nn.Module, levers: list[Lever]) -> None:
    if is_on(levers, "bfloat16 decoders"):
        bf16_inside(decoder)
    if is_on(levers, "channels-last decoders"):
        decoder.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if is_on(levers, "upsampling without the upsampled copy"):
        for module in decoder.modules():
            if type(module).__name__ == "Upsample2D":
                subpixel.install(module)


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's malloc.h


@cache
def keep_freed_memory() -> bool:
    """Large blocks from the heap, never mmap, and freed memory kept: a picture's activations are reused by
    the next picture instead of being unmapped and faulted in again (the process keeps its peak)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc
        return False


def bf16_inside(module: torch.nn.Module, cast_all: bool = False) -> None:
    """Runs `module` in bfloat16 behind a float32 face: its sample (and text states; with `cast_all` every
    floating input, attention masks too) are cast down on the way in, outputs back up on the way out, so the
    pipeline around it (schedulers, other parts) stays float32."""
    if getattr(module, "_atelier_bf16", False):
        return
    # nn.Module's own `to`: diffusers' warns about modules to keep in float32, which these models do not have
    torch.nn.Module.to(module, torch.bfloat16)
    names = list(inspect.signature(module.forward).parameters)
    names[0] = CAST_IN[0]  # the first input is the sample, whatever its name (TAESD's decoder calls it x)

    def down(module, args, kwargs):
        if cast_all:
            return _cast(args, torch.bfloat16), {k: _cast(v, torch.bfloat16) for k, v in kwargs.items()}
        cast = [i < len(names) and names[i] in CAST_IN for i in range(len(args))]
        args = tuple(_cast(a, torch.bfloat16) if c else a for a, c in zip(args, cast))
        return args, {k: _cast(v, torch.bfloat16) if k in CAST_IN else v for k, v in kwargs.items()}

    module.register_forward_pre_hook(down, with_kwargs=True)
    module.register_forward_hook(_up)
    module._atelier_bf16 = True  # type: ignore[assignment]


def _cast(value, dtype: torch.dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    if isinstance(value, list):
        return [_cast(v, dtype) for v in value]
    if type(value) is dict:
        return {k: _cast(v, dtype) for k, v in value.items()}
    if isinstance(value, dict):  # diffusers' output dataclasses (BaseOutput) are dicts with attributes
        for k, v in list(value.items()):
            value[k] = _cast(v, dtype)
    return value


def _up(module, args, output):
    return _cast(output, torch.float32)

"""The CPU path: what a diffusion model is turned into when it loads on a CPU.

Each lever was measured on a 2-core AMD EPYC with AVX-512 BF16 (README, Figures: `python -m bench.cpu_levers`
and `python -m bench.cpu_speed`) and is kept only where it paid there. `plan()` says which are on for this
CPU and why (the Zoo tab shows it); `preload()` and `apply()` turn them on: the UNet is loaded straight in
bfloat16, the decoders are cast in place, one tensor at a time.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

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
            "loaded straight in bf16, float32 in and out: half the memory; with the bf16 decoder, 1.7x less CPU time "
            "per full-decode picture, every pixel within 8/255 of stock float32"
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
        Lever("channels-last", False, "made the bf16 UNet step slower here (31 s against 24 s under the same load)"),
        Lever("bf16 autocast", False, "casts the float32 weights at every call: the UNet step took twice as long"),
        Lever("SDPA attention", True, "diffusers' default attention processor already calls it"),
        Lever(f"threads = {cpu.cores} physical cores", True, "hyper-threads share one core's vector units"),
        Lever("torch.compile", False, "not measured: minutes of compiling at each start, for 1-step pictures"),
        Lever("OpenVINO", False, "not tried: a second runtime and a converted copy of each model on disk"),
    ]


# SD-Turbo 512 x 512, 1 step, fast decode, on the 2-core AVX-512 BF16 EPYC of bench.cpu_speed (README): that
# shared machine never ran idle, so the figure is stock diffusers' 15.0 s measured idle there, scaled by the
# CPU seconds bench.cpu_speed measured side by side (fast 13.0 against stock 52.7)
RECORDED_SECONDS, RECORDED_CORES = 3.7, 2
NO_BF16_SLOWDOWN = 2.5  # the UNet step in float32 against bfloat16 on that machine, idle (4.46 s against 1.79 s)


def seconds_per_picture(cpu: Cpu) -> tuple[float, str]:
    """SD-Turbo's fast path on this CPU, scaled from the recorded figure by cores (and bf16), and how."""
    seconds = RECORDED_SECONDS * RECORDED_CORES / max(1, cpu.cores)
    if not cpu.bf16:
        seconds *= NO_BF16_SLOWDOWN
    bf16 = "native bfloat16" if cpu.bf16 else "no native bfloat16"
    return seconds, (
        f"recorded {RECORDED_SECONDS:.1f} s on {RECORDED_CORES} AVX-512 BF16 cores (bench.cpu_speed), "
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
    if hasattr(value, "decoder") and not hasattr(value, "unet"):  # AutoencoderTiny
        if is_on(levers, "bfloat16 decoders"):
            bf16_inside(value.decoder)
        return
    pipe = value
    unet = getattr(pipe, "unet", None)
    if unet is not None and is_on(levers, "bfloat16 UNet"):
        bf16_inside(unet)
    vae = getattr(pipe, "vae", None)
    if vae is not None and is_on(levers, "bfloat16 decoders"):
        bf16_inside(vae.decoder)


def bf16_inside(module: torch.nn.Module) -> None:
    """Runs `module` in bfloat16 behind a float32 face: its sample (and text states) are cast down on the
    way in, outputs back up on the way out, so the pipeline around it (schedulers, other parts) stays float32."""
    if getattr(module, "_atelier_bf16", False):
        return
    # nn.Module's own `to`: diffusers' warns about modules to keep in float32, which these models do not have
    torch.nn.Module.to(module, torch.bfloat16)
    names = list(inspect.signature(module.forward).parameters)
    names[0] = CAST_IN[0]  # the first input is the sample, whatever its name (TAESD's decoder calls it x)

    def down(module, args, kwargs):
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

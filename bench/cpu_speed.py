"""SD-Turbo on a CPU, side by side in one run: stock diffusers float32 with the full VAE, Atelier with full
decode, Atelier with fast decode (the tiny autoencoder).

    python -m bench.cpu_speed [--rounds 3]

The model is SD-Turbo's full-size architecture with random weights (bench/sd_turbo_arch.py: random weights
cost what real ones cost), built once into bench/.cache/, as a local registry entry with a TAESD-architecture
tiny autoencoder. 512 x 512, 1 step, guidance 0. Each configuration runs in its own process (an honest peak
RSS), one after the other, round after round (interleaved, so a change of load hits all three): the process
loads the model, draws a first picture (warm-up, not counted) and then the timed one. Atelier's pictures go
through `python -m pipelines generate` (pipelines.__main__.main in the process, timed between the PNGs it
writes); stock diffusers is `StableDiffusionPipeline.from_pretrained(...)(prompt)` plus the same PNG save.

Printed: seconds per picture (median over rounds) and CPU seconds, peak RSS, agreement with stock float32
(largest pixel difference of the full-decode picture, the share of pixels within 8/255, the mean latent
difference), and a 512 x 512 preview's cost against one UNet step, each against its target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sd_turbo_arch import MODEL, build

PROMPTS = ["a photo of a red ball", "a photo of a cat"]  # warm-up, timed; seeds 0 and 1000 (the CLI's seeds)
SEEDS = [0, 1000]
CONFIGS = ("stock", "full", "fast")
SIDE = 512


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def stock(registry: Path, out: Path) -> dict:
    import torch
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(
        registry.parent / "sd-turbo", dtype=torch.float32, use_safetensors=True
    )
    pipe.set_progress_bar_config(disable=True)
    kept = []

    def keep(pipe, step, timestep, tensors):
        kept.append(tensors["latents"].clone())
        return tensors

    times = []
    for i, (prompt, seed) in enumerate(zip(PROMPTS, SEEDS)):
        started, cpu = time.perf_counter(), time.process_time()
        image = pipe(
            prompt,
            num_inference_steps=1,
            guidance_scale=0.0,
            width=SIDE,
            height=SIDE,
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=keep,
        ).images[0]
        image.save(out / f"{i:04d}.png")
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    torch.save(kept[-1], out / "latents.pt")
    return {"seconds": times[-1][0], "cpu_seconds": times[-1][1], "peak_rss_gb": peak_rss_gb()}


def atelier(registry: Path, out: Path, mode: str) -> dict:
    """The CLI in this process, timed between the PNGs it writes; the latents recorded on their way to decode."""
    import torch

    import pipelines.__main__ as cli
    from pipelines.models import decode

    marks, kept, caches = [], [], []
    save, pictures, make_cache = cli.save_png, decode.pictures, cli._cache
    cli.save_png = lambda *a, **k: (save(*a, **k), marks.append((time.perf_counter(), time.process_time())))
    decode.pictures = lambda cache, entry, pipe, latents, how: (
        kept.append(latents.clone()),
        pictures(cache, entry, pipe, latents, how),
    )[1]
    cli._cache = lambda args: caches.append(make_cache(args)) or caches[-1]
    cli.main(["--registry", str(registry), "generate", "--model", MODEL, "--decode", mode, "--out", str(out), *PROMPTS])
    rss = peak_rss_gb()
    torch.save(kept[-1], out / "latents.pt")
    (wall0, cpu0), (wall1, cpu1) = marks
    result = {"seconds": wall1 - wall0, "cpu_seconds": cpu1 - cpu0, "peak_rss_gb": rss}
    if mode == "fast":
        result |= preview_cost(caches[0], kept[-1])
    return result


def preview_cost(cache, latents) -> dict:
    """Seconds of one 512 x 512 preview (pipelines/models/previews.py, through the tiny autoencoder) and of one UNet
    step of the same model as loaded (the CPU path's UNet), medians of 3."""
    import torch

    from pipelines.models.previews import Previewer
    from zoo.registry import ModelEntry

    entry: ModelEntry = cache.registry.get(MODEL)
    previewer = Previewer()
    with cache.use(MODEL) as pipe, torch.inference_mode():
        tiny = cache.get(entry.tiny_vae)
        states = torch.randn(1, 77, pipe.text_encoder.config.hidden_size)
        timestep = pipe.scheduler.timesteps[0] if len(pipe.scheduler.timesteps) else torch.tensor(999.0)
        unet = [_timed(lambda: pipe.unet(latents, timestep, states)) for _ in range(3)]
        preview = [_timed(lambda: previewer.pictures(pipe, latents, tiny)) for _ in range(3)]
    return {"unet_step_seconds": statistics.median(unet), "preview_seconds": statistics.median(preview)}


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def worker(config: str, registry: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result = stock(registry, out) if config == "stock" else atelier(registry, out, config)
    print("RESULT " + json.dumps(result), flush=True)


def run_one(config: str, registry: Path, out: Path) -> dict:
    command = ["nice", "-n", "10", sys.executable, "-m", "bench.cpu_speed", "--worker", config]
    command += ["--registry", str(registry), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=os.environ | {"TQDM_DISABLE": "1"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{config} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def agreement(a: Path, b: Path) -> dict:
    """Pixel and latent agreement of the timed picture of two runs."""
    import numpy as np
    import torch
    from PIL import Image

    x = np.asarray(Image.open(a / "0001.png").convert("RGB"), dtype=np.int16)
    y = np.asarray(Image.open(b / "0001.png").convert("RGB"), dtype=np.int16)
    diff = np.abs(x - y)
    latents = (torch.load(a / "latents.pt") - torch.load(b / "latents.pt")).abs()
    return {
        "max_pixel": int(diff.max()),
        "within_8": float((diff.max(axis=-1) <= 8).mean()),
        "mean_latent": float(latents.mean()),
        "latent_scale": float(torch.load(b / "latents.pt").abs().mean()),
    }


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    name = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "unknown CPU")
    from zoo.cpu_path import this_cpu

    cpu = this_cpu()
    return f"{name}, {cpu.cores} physical cores, native bf16: {cpu.bf16}"


def report(results: dict[str, list[dict]], agree: dict, fast_agree: dict, loads: list[float]) -> None:
    med = {c: {k: statistics.median(r[k] for r in results[c]) for k in results[c][0]} for c in CONFIGS}
    print(f"\nSD-Turbo architecture (random weights), {SIDE} x {SIDE}, 1 step; {machine()}")
    print(f"load average during the run: {min(loads):.1f} to {max(loads):.1f}; {len(results['stock'])} rounds")
    print(f"\n{'path':<32}{'s/picture':>10}{'cpu s':>8}{'vs stock':>10}{'peak RSS':>10}")
    names = ("stock diffusers fp32, full VAE", "Atelier, full decode", "Atelier, fast decode")
    for config, name in zip(CONFIGS, names):
        m = med[config]
        print(
            f"{name:<32}{m['seconds']:>10.2f}{m['cpu_seconds']:>8.1f}"
            f"{med['stock']['seconds'] / m['seconds']:>9.2f}x{m['peak_rss_gb']:>8.2f} GB"
        )
    fast, full, base = med["fast"], med["full"], med["stock"]
    preview = fast["preview_seconds"] / fast["unet_step_seconds"]
    checks = [
        ("fast decode >= 5x faster than stock", base["seconds"] / fast["seconds"] >= 5),
        ("full decode >= 2x faster than stock", base["seconds"] / full["seconds"] >= 2),
        ("full decode: 99 % of pixels within 8/255 of stock", agree["within_8"] >= 0.99),
        ("a preview costs <= 10 % of a UNet step", preview <= 0.10),
        ("peak RSS <= stock's", max(full["peak_rss_gb"], fast["peak_rss_gb"]) <= base["peak_rss_gb"]),
    ]
    print(
        f"\nfull decode against stock: largest pixel difference {agree['max_pixel']}/255, "
        f"{100 * agree['within_8']:.2f} % of pixels within 8/255, mean latent difference "
        f"{agree['mean_latent']:.4f} (mean latent magnitude {agree['latent_scale']:.3f})"
    )
    print(
        f"fast decode against stock (another decoder, for scale): largest {fast_agree['max_pixel']}/255, "
        f"{100 * fast_agree['within_8']:.1f} % within 8/255"
    )
    print(
        f"preview {fast['preview_seconds']:.3f} s against one UNet step {fast['unet_step_seconds']:.2f} s: "
        f"{100 * preview:.1f} %\n"
    )
    for what, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {what}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    p.add_argument("--registry", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, Path(args.registry), Path(args.out))
    registry = build()
    results: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    loads = []
    with tempfile.TemporaryDirectory(prefix="cpu-speed-") as tmp:
        for round_ in range(args.rounds):
            for config in CONFIGS:
                loads.append(os.getloadavg()[0])
                result = run_one(config, registry, Path(tmp) / f"{round_}-{config}")
                results[config].append(result)
                print(f"round {round_ + 1} {config}: {json.dumps(result)}", flush=True)
        agree = agreement(Path(tmp) / "0-full", Path(tmp) / "0-stock")
        fast_agree = agreement(Path(tmp) / "0-fast", Path(tmp) / "0-stock")
    report(results, agree, fast_agree, loads)


if __name__ == "__main__":
    main()

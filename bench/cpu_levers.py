"""Each CPU lever of zoo/cpu_path.py alone, on SD-Turbo's full-size parts (bench/sd_turbo_arch.py), 512 x 512.

    python -m bench.cpu_levers [unet:fp32 unet:bf16 vae:fp32 vae:bf16 ...]

One process per case (a fresh allocator, an honest peak RSS), one after the other. Each case loads its part,
runs it once to warm up, then times it (best of 2; wall and CPU seconds: on a shared machine the CPU seconds
say more). Cases: unet / vae (the SD autoencoder's decode) / taesd (the tiny autoencoder's decode), each in
fp32, bf16 (weights cast, float32 in and out, as zoo/cpu_path.bf16_inside), cl (channels-last, with
fp32 or bf16) or autocast (fp32 weights under torch.autocast bfloat16). The decoders also report how
far bf16 moves the picture from fp32 (largest difference and share of pixels within 8/255).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sd_turbo_arch import build

CASES = ["unet:fp32", "unet:bf16", "unet:bf16+cl", "unet:autocast", "vae:fp32", "vae:bf16", "taesd:fp32", "taesd:bf16"]


def load(part: str, folder: Path):
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel

    if part == "unet":
        return UNet2DConditionModel.from_pretrained(folder / "sd-turbo" / "unet").eval()
    if part == "vae":
        return AutoencoderKL.from_pretrained(folder / "sd-turbo" / "vae").eval()
    return AutoencoderTiny.from_pretrained(folder / "taesd").eval()


def case(name: str, folder: Path, out: Path) -> dict:
    import torch

    from zoo.cpu_path import bf16_inside

    part, form = name.split(":")
    torch.manual_seed(0)
    model = load(part, folder)
    latents = torch.randn(1, 4, 64, 64)
    if "cl" in form:
        model.to(memory_format=torch.channels_last)
    if "bf16" in form:
        bf16_inside(model if part == "unet" else model.decoder)
    if part == "unet":
        states = torch.randn(1, 77, 1024)
        call = lambda: model(latents, torch.tensor(999.0), encoder_hidden_states=states).sample
    else:
        call = lambda: model.decode(latents).sample
    if form == "autocast":
        plain = call
        call = lambda: _autocast(plain)
    with torch.inference_mode():
        output = call()
        times = []
        for _ in range(2):
            wall, cpu = time.perf_counter(), time.process_time()
            output = call()
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
    torch.save(output.float(), out / f"{part}-{form}.pt")
    best = min(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"case": name, "seconds": best[0], "cpu_seconds": best[1], "peak_rss_gb": rss}


def _autocast(call):
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        return call().float()


def pixels_apart(a: Path, b: Path) -> str:
    import torch

    to_pixels = lambda x: ((x / 2 + 0.5).clamp(0, 1) * 255).round()
    diff = (to_pixels(torch.load(a)) - to_pixels(torch.load(b))).abs().amax(dim=1)
    return f"largest {int(diff.max())}/255, {100 * float((diff <= 8).float().mean()):.2f} % within 8/255"


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--case"]:
        print("RESULT " + json.dumps(case(argv[1], Path(argv[2]), Path(argv[3]))), flush=True)
        return
    folder = build().parent
    with tempfile.TemporaryDirectory(prefix="cpu-levers-") as out:
        for name in argv or CASES:
            command = ["nice", "-n", "10", sys.executable, "-m", "bench.cpu_levers", "--case", name, str(folder), out]
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
            line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"{name}: failed\n{done.stderr[-2000:]}")
                continue
            r = json.loads(line[len("RESULT ") :])
            figures = f"{r['seconds']:>8.2f} s{r['cpu_seconds']:>8.2f} cpu s{r['peak_rss_gb']:>7.2f} GB"
            print(f"{name:<16}{figures}", flush=True)
        for part in ("vae", "taesd"):
            fp32, bf16 = Path(out) / f"{part}-fp32.pt", Path(out) / f"{part}-bf16.pt"
            if fp32.exists() and bf16.exists():
                print(f"{part} bf16 against fp32: {pixels_apart(bf16, fp32)}")


if __name__ == "__main__":
    main()

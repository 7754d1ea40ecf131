"""Serving speed, side by side in one run on this machine: the starter model at its defaults, a canonical
prompt (no expansion).

    python -m bench.serving [--requests 24]

- raw diffusers: StableDiffusionPipeline.from_pretrained(zoo/starter/shapes-diffusion) called directly,
  batch 1 and batch 8 (in this process);
- Atelier's pipeline in process: pipelines.tasks.generate.generate (interleaved with raw batch 1);
- one API client: /generate through gradio_client (files not downloaded), requests in turn;
- a bare Gradio endpoint that returns one 64 x 64 picture, launched like the app (a subprocess);
- 8 and 32 concurrent clients against Atelier;
- /generate with 8 steps: previews streamed over the API before the final picture;
- the time from `python app.py --offline` start to its first answer (and to its first picture).

The API figures come from the real app (app.main) in a subprocess started by this module with
`--serve-atelier`: it only adds a thread that writes the batcher's call sizes to a file, read between
phases for the number of pipeline calls and the mean batch size.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.abuse import PICTURE, REPO, App, answers, free_port, percentile, start_app, stop_app

CANONICAL = "a large red circle on the left on a white background, flat style"
MODEL = "starter/shapes-diffusion"


@dataclass
class Timing:
    """Seconds per request, and pictures per request."""

    seconds: list[float] = field(default_factory=list)
    pictures_per_request: int = 1
    errors: int = 0
    wall: float = 0.0  # for concurrent runs: the whole burst
    calls: list[int] = field(default_factory=list)  # batcher call sizes during the phase

    def ms_per_picture(self, average=statistics.median) -> float:
        return 1000 * average(self.seconds) / self.pictures_per_request if self.seconds else float("nan")


# ------------------------------------------------------------------ in process: raw diffusers and the pipeline


def run_settings() -> dict:
    from pipelines.tasks import generate as text2image
    from zoo.registry import DEFAULT_REGISTRY, load_registry

    entry = load_registry(DEFAULT_REGISTRY).entries[MODEL]
    return text2image.settings(entry)


def in_process(requests: int, rounds: int = 3) -> dict[str, Timing]:
    """Raw diffusers at batch 1 and Atelier's pipeline, interleaved in `rounds` so that the machine's
    load falls on both alike; then raw diffusers at batch 8."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import logging as diffusers_logging

    from pipelines.tasks import generate as text2image
    from zoo.cache import ModelCache
    from zoo.registry import DEFAULT_REGISTRY, load_registry

    diffusers_logging.disable_progress_bar()
    run = run_settings()
    kwargs = dict(
        num_inference_steps=run["steps"], guidance_scale=run["guidance"], width=run["width"], height=run["height"]
    )
    pipe = StableDiffusionPipeline.from_pretrained(
        REPO / "zoo" / "starter" / "shapes-diffusion", dtype=torch.float32, use_safetensors=True
    )
    pipe.set_progress_bar_config(disable=True)
    cache = ModelCache(load_registry(DEFAULT_REGISTRY), device="cpu")

    def raw(n: int, seed: int) -> None:
        pipe(
            prompt=[CANONICAL] * n, generator=[torch.Generator("cpu").manual_seed(seed + i) for i in range(n)], **kwargs
        )

    def atelier(seed: int) -> None:
        text2image.generate(cache, CANONICAL, model_id=MODEL, seed=seed, expand_with="none")

    raw(1, 0), atelier(0), raw(8, 0)  # loads and first-call costs stay out of the figures
    out = {
        "raw diffusers, batch 1": Timing(),
        "Atelier pipeline, in process": Timing(),
        "raw diffusers, batch 8": Timing(pictures_per_request=8),
    }
    for r in range(rounds):
        for i in range(r, requests, rounds):
            out["raw diffusers, batch 1"].seconds.append(_timed(raw, 1, i))
            out["Atelier pipeline, in process"].seconds.append(_timed(atelier, i))
    for i in range(max(1, requests // 8)):
        out["raw diffusers, batch 8"].seconds.append(_timed(raw, 8, 8 * i))
    return out


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


# ------------------------------------------------------------------ servers


def serve_atelier(port: int, stats: Path) -> None:
    """`python app.py --offline --port PORT` (app.main itself), plus a thread that writes the batcher's
    call sizes to `stats` (it finds the app's ModelCache by watching ui.build_app)."""
    import app
    import ui
    from pipelines.models.batching import batcher_for

    studios, build = [], ui.build_app

    def watched(studio, *args, **kwargs):
        studios.append(studio)
        return build(studio, *args, **kwargs)

    def write() -> None:
        while True:
            time.sleep(0.2)
            if studios:
                sizes = list(batcher_for(studios[0].cache).batch_sizes)
                stats.with_suffix(".tmp").write_text(json.dumps(sizes))
                os.replace(stats.with_suffix(".tmp"), stats)

    ui.build_app = watched
    threading.Thread(target=write, daemon=True).start()
    # each bench client stands for a person of its own (an X-Forwarded-For address): one person may
    # have only 4 jobs waiting, and every bench client connects from this machine
    app.main(["--offline", "--port", str(port), "--trust-proxy"])


def serve_bare(port: int) -> None:
    """A bare Gradio endpoint returning one 64 x 64 picture, queued and launched like the app."""
    import gradio as gr
    from PIL import Image

    picture = Image.open(PICTURE).convert("RGB").resize((64, 64))
    with gr.Blocks(analytics_enabled=False) as demo:
        prompt = gr.Textbox()
        out = gr.Image(type="pil", format="png")
        prompt.submit(lambda text: picture, prompt, out, api_name="draw")
    demo.queue().launch(server_name="127.0.0.1", server_port=port)


def start_server(flag: str, *extra: str, log: Path) -> App:
    port = free_port()
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.serving", flag, str(port), *extra],
            cwd=REPO,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    while not answers(url, 2):
        if process.poll() is not None or time.perf_counter() - started > 300:
            raise RuntimeError(f"{flag} did not start; see {log}")
        time.sleep(0.1)
    return App(url, process, log, time.perf_counter() - started)


# ------------------------------------------------------------------ over the API


def _client(url: str):
    from gradio_client import Client

    person = next(PEOPLE)
    return Client(url, verbose=False, download_files=False, headers={"x-forwarded-for": person})


PEOPLE = (f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))


def _generate(client, seed: int, **extra):
    return client.predict(CANONICAL, expand_with="none", seed=seed, api_name="/generate", **extra)


def batch_sizes(stats: Path) -> list[int]:
    try:
        return json.loads(stats.read_text())
    except (OSError, ValueError):
        return []


def one_client(url: str, requests: int, api: str = "/generate", stats: Path | None = None) -> Timing:
    """`requests` calls in turn from one client (after two warm-up calls)."""
    client = _client(url)
    call = (
        (lambda i: _generate(client, 1000 + i))
        if api == "/generate"
        else (lambda i: client.predict(f"picture {i}", api_name=api))
    )
    call(-1), call(-2)
    before = len(batch_sizes(stats)) if stats else 0
    timing = Timing()
    for i in range(requests):
        started = time.perf_counter()
        try:
            call(i)
        except Exception:
            timing.errors += 1
        timing.seconds.append(time.perf_counter() - started)
    timing.wall = sum(timing.seconds)
    if stats:
        time.sleep(0.5)
        timing.calls = batch_sizes(stats)[before:]
    return timing


def concurrent(url: str, clients: int, requests: int, stats: Path) -> Timing:
    """`clients` clients at once, max(requests, clients) /generate requests shared out; each client sends
    its share in turn. Latency per request; throughput from the whole burst's wall time."""
    made = [_client(url) for _ in range(clients)]
    shares = [list(range(c, max(requests, clients), clients)) for c in range(clients)]
    timing, lock, gate = Timing(), threading.Lock(), threading.Barrier(clients)
    before = len(batch_sizes(stats))

    def work(c: int) -> None:
        gate.wait()
        for i in shares[c]:
            started = time.perf_counter()
            try:
                _generate(made[c], 2000 + i)
                failed = 0
            except Exception:
                failed = 1
            with lock:
                timing.seconds.append(time.perf_counter() - started)
                timing.errors += failed

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, range(clients)))
    timing.wall = time.perf_counter() - started
    time.sleep(0.5)
    timing.calls = batch_sizes(stats)[before:]
    return timing


def streamed_previews(url: str, steps: int = 8) -> tuple[int, bool]:
    """/generate with `steps` steps through Client.submit: (outputs with preview pictures before the
    final one, whether the final one is the full picture rather than a preview)."""
    job = _client(url).submit(CANONICAL, expand_with="none", seed=5, steps=steps, api_name="/generate")
    job.result(timeout=120)
    outputs = job.outputs()

    def is_preview(output) -> bool:
        gallery = output[0] if isinstance(output, list | tuple) and output else None
        return bool(gallery) and all(isinstance(p, dict) and p.get("caption") == "preview" for p in gallery)

    previews = sum(is_preview(o) for o in outputs[:-1])
    return previews, bool(outputs) and not is_preview(outputs[-1])


def ready_time(log: Path, starts: int = 3) -> tuple[float, float, list[float]]:
    """Seconds from starting `python app.py --offline` to its first HTTP answer (the median of `starts`
    starts, and each), and from the first start to its first picture."""
    firsts, picture = [], float("nan")
    for n in range(starts):
        started = time.perf_counter()
        app = start_app(log=log)
        try:
            firsts.append(app.ready_seconds)
            if n == 0:
                _generate(_client(app.url), 1)
                picture = time.perf_counter() - started
        finally:
            stop_app(app)
    return statistics.median(firsts), picture, firsts


# ------------------------------------------------------------------ the report


def table(timings: dict[str, Timing]) -> str:
    lines = [
        "| path | ms per picture (median) | ms per picture (mean) | p50 ms | p95 ms | requests | errors "
        "| pipeline calls | mean batch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, t in timings.items():
        per_picture = (
            1000 * t.wall / (len(t.seconds) * t.pictures_per_request)
            if t.wall and "clients" in name
            else t.ms_per_picture()
        )
        calls = f"{len(t.calls)} | {statistics.mean(t.calls):.2f}" if t.calls else "- | -"
        lines.append(
            f"| {name} | {per_picture:.1f} | {t.ms_per_picture(statistics.mean):.1f} "
            f"| {1000 * percentile(t.seconds, 50):.0f} | {1000 * percentile(t.seconds, 95):.0f} "
            f"| {len(t.seconds)} | {t.errors} | {calls} |"
        )
    return "\n".join(lines) + "\n(concurrent rows: ms per picture = the burst's wall time / pictures)"


def verdicts(t: dict[str, Timing], previews: tuple[int, bool], ready: tuple) -> tuple[str, bool]:
    raw, pipeline = t["raw diffusers, batch 1"], t["Atelier pipeline, in process"]
    api, bare, one = t["one API client, in turn"], t["bare Gradio endpoint"], t["one API client, in turn"]
    ratio = pipeline.ms_per_picture() / raw.ms_per_picture()
    own = api.ms_per_picture() - pipeline.ms_per_picture() - bare.ms_per_picture()
    one_rate = len(one.seconds) / one.wall
    rows = [
        ("pipeline / raw diffusers (medians)", f"{ratio:.3f}x", "<= 1.05x", ratio <= 1.05),
        ("Atelier's own work per API request (API - pipeline - bare, medians)", f"{own:.1f} ms", "<= 25 ms", own <= 25),
    ]
    for k in (8, 32):
        burst = t[f"{k} clients at once"]
        gain = (len(burst.seconds) / burst.wall) / one_rate
        rows.append(
            (
                f"{k} clients: throughput vs one client in turn",
                f"{gain:.2f}x, {burst.errors} errors",
                ">= 2.0x, 0 errors" if k == 8 else "(no target)",
                gain >= 2.0 and not burst.errors if k == 8 else True,
            )
        )
    rows += [
        (
            "previews streamed before the final picture (8 steps)",
            f"{previews[0]}{'' if previews[1] else ' (final output is a preview!)'}",
            ">= 2",
            previews[0] >= 2 and previews[1],
        ),
        (
            f"`python app.py --offline`: start to first answer (median of {', '.join(f'{x:.1f}' for x in ready[2])})",
            f"{ready[0]:.1f} s",
            "<= 5 s",
            ready[0] <= 5,
        ),
        ("`python app.py --offline`: start to first picture", f"{ready[1]:.1f} s", "(no target)", True),
    ]
    lines = ["| check | measured | target | |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {value} | {target} | {'ok' if ok else 'MISSED'} |" for name, value, target, ok in rows]
    return "\n".join(lines), all(ok for *_, ok in rows)


def machine() -> str:
    import torch

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, load average {load}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=24, help="requests per measurement (default 24)")
    p.add_argument("--serve-atelier", nargs=2, metavar=("PORT", "STATS"), help=argparse.SUPPRESS)
    p.add_argument("--serve-bare", metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_atelier:
        return serve_atelier(int(args.serve_atelier[0]), Path(args.serve_atelier[1])) or 0
    if args.serve_bare:
        return serve_bare(int(args.serve_bare)) or 0
    print(f"bench.serving, {args.requests} requests per measurement; started {machine()}", flush=True)
    print(f"the starter model at its defaults: {MODEL} {run_settings()}, prompt {CANONICAL!r}, no expansion")
    with tempfile.TemporaryDirectory(prefix="atelier-serving-") as tmp:
        root = Path(tmp)
        ready = ready_time(root / "ready.log")
        stats = root / "batches.json"
        atelier = start_server("--serve-atelier", str(stats), log=root / "atelier.log")
        bare = start_server("--serve-bare", log=root / "bare.log")
        try:
            timings = in_process(args.requests)
            timings["one API client, in turn"] = one_client(atelier.url, args.requests, stats=stats)
            timings["bare Gradio endpoint"] = one_client(bare.url, args.requests, api="/draw")
            for k in (8, 32):
                timings[f"{k} clients at once"] = concurrent(atelier.url, k, args.requests, stats)
            previews = streamed_previews(atelier.url)
        finally:
            stop_app(atelier)
            stop_app(bare)
    print(f"\n{table(timings)}\n")
    report, ok = verdicts(timings, previews, ready)
    print(f"{report}\n\nfinished {machine()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Throughput and per-request overhead of the Ray backend against the in-process one, side by side.

    python -m bench.ray_serving [--requests 48] [--clients 8]

One local Ray (this machine's CPUs). The same text-to-image requests (starter model, its defaults:
64 x 64, 4 steps; canonical prompts, so no expansion; distinct seeds) go to: the in-process
LocalBackend; RayBackend with 1 replica (torch on all cores); RayBackend with 2 replicas (1 torch
thread each); RayBackend with 1 replica and share_draws (compatible requests share one diffusion
call). Latency: one client, one request at a time (median); overhead = Ray latency - in-process
latency. Throughput: `clients` threads sending `requests` requests in all. Models are loaded and
replicas started before any timing. The cycle through all backends runs `rounds` times and each
keeps its best latency and throughput, since other work on the machine comes and goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines.core.results import GenerateRequest

PROMPTS = [
    "a large red circle on the left on a white background, flat style",
    "a small blue square at the top on a white background, flat style",
    "a green triangle on the right on a white background, flat style",
]
DIFFUSION = "starter/shapes-diffusion"
SETUPS = {  # name: (replicas, torch threads per replica, share_draws)
    "ray, 1 replica": (1, None, False),
    "ray, 2 replicas x 1 thread": (2, 1, False),
    "ray, 1 replica, share_draws": (1, None, True),
}


def jobs(count: int, start: int = 0) -> list[GenerateRequest]:
    return [GenerateRequest(PROMPTS[i % len(PROMPTS)], seed=start + i) for i in range(count)]


def measure(backend, requests: int, clients: int) -> dict:
    for job in jobs(2, 10_000):  # warm: models loaded, replicas up
        backend.generate(job)
    latencies = []
    for job in jobs(max(16, requests // 2), 20_000):
        started = time.perf_counter()
        backend.generate(job)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(backend.generate, jobs(requests, 30_000)))
    return {"latency_ms": 1000 * statistics.median(latencies), "throughput": requests / (time.perf_counter() - started)}


def ray_config(folder: Path, replicas: int, threads: int | None, share: bool) -> Path:
    path = folder / f"ray-{replicas}-{threads}-{share}.toml"
    lines = [
        "[defaults]",
        "cpus = 0.25",
        f'[models."{DIFFUSION}"]',
        f"replicas = {replicas}",
        f"cpus = {2 / replicas - 0.25}",
        f"share_draws = {str(share).lower()}",
    ]
    path.write_text("\n".join(lines + ([f"threads = {threads}"] if threads else [])) + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=48)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2, help="cycles through every backend; the best of each is kept")
    args = p.parse_args()
    import ray
    import torch

    from pipelines.backend import LocalBackend
    from serving.ray_backend import RayBackend
    from zoo.cache import ModelCache
    from zoo.registry import DEFAULT_REGISTRY, load_registry

    ray.init(
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}},
    )
    local = LocalBackend(ModelCache(load_registry(), device="cpu"))
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):  # the whole cycle again: other load on the machine comes and goes
            runs.setdefault("in-process", []).append(measure(local, args.requests, args.clients))
            for name, (replicas, threads, share) in SETUPS.items():
                config = ray_config(Path(folder), replicas, threads, share)
                backend = RayBackend(DEFAULT_REGISTRY, config=config, warm=False)
                backend.deploy([DIFFUSION])
                runs.setdefault(name, []).append(measure(backend, args.requests, args.clients))
                backend.shutdown(delete_deployments=True)
    ray.shutdown()
    rows = {
        name: {"latency_ms": min(r["latency_ms"] for r in rs), "throughput": max(r["throughput"] for r in rs)}
        for name, rs in runs.items()
    }
    baseline = rows["in-process"]
    print(
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, ray {ray.__version__}, load average at the end "
        f"{os.getloadavg()[0]:.1f}; {args.requests} requests from {args.clients} clients; {DIFFUSION} 64x64, "
        f"4 steps; best of {args.rounds} rounds"
    )
    print(f"{'backend':<30} {'latency ms':>10} {'overhead ms':>11} {'pictures/s':>10} {'vs in-process':>13}")
    for name, row in rows.items():
        print(
            f"{name:<30} {row['latency_ms']:>10.0f} {row['latency_ms'] - baseline['latency_ms']:>11.0f} "
            f"{row['throughput']:>10.2f} {row['throughput'] / baseline['throughput']:>12.2f}x"
        )


if __name__ == "__main__":
    main()

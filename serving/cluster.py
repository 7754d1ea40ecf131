"""Starting a local Ray, or joining a cluster, for the Serve backend and the Ray Data jobs."""

from __future__ import annotations

import os
from pathlib import Path

from zoo.errors import AtelierError

REPO = Path(__file__).resolve().parent.parent
# ATELIER_DATA_DIR: where replicas find the adapters the Train tab made (zoo/adapters.py trained_folder)
PASSED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_DISABLE_TELEMETRY", "TRANSFORMERS_OFFLINE", "ATELIER_DATA_DIR")
# what a cluster's workers do not need from the checkout (working_dir ships the rest: code and starter zoo)
EXCLUDES = [".git", "tests", "training", "runs", "outputs", "assets", "**/__pycache__", ".pytest_cache", ".gradio"]


class RayUnavailable(AtelierError):
    """Ray is not installed, or the cluster cannot be reached."""


def connect(address: str | None = None, num_cpus: int | None = None) -> str:
    """Joins the cluster at `address` (or $RAY_ADDRESS), or starts a local Ray with this machine's CPUs.
    Returns "attached" (Ray was already initialised by the caller), "joined" or "started"."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("Ray is not installed; run: pip install -r requirements-ray.txt") from None
    if ray.is_initialized():
        return "attached"
    address = address or os.environ.get("RAY_ADDRESS")
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    try:
        if address:
            runtime_env = {"working_dir": str(REPO), "excludes": EXCLUDES, "env_vars": env}
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
            return "joined"
        path = os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        ray.init(
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": env | {"PYTHONPATH": path}},
        )
        return "started"
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise RayUnavailable(
            f"Could not start or reach {where} ({e}); check the address and that Ray runs there."
        ) from None


def torch_threads() -> int:
    """The threads torch uses in a plain process on this node (Ray sets OMP_NUM_THREADS for its workers). The
    same count as the in-process backend keeps pictures identical: CPU kernels split sums by thread."""
    return os.cpu_count() or 1


def registry_for_workers(registry_path: Path | str, mode: str) -> str:
    """The registry path as the workers see it: inside the shipped working_dir when joined to a cluster."""
    path = Path(registry_path).resolve()
    if mode == "joined" and path.is_relative_to(REPO):
        return str(path.relative_to(REPO))
    return str(path)

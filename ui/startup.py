"""What the launcher does before the UI exists: the offline switch, the login, the backend, the
summary printed at start, and ZeroGPU's preload. app.py calls these; nothing else needs them."""

from __future__ import annotations

import os

from zoo.cache import ModelCache
from zoo.errors import AtelierError


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise AtelierError("--auth takes USER:PASSWORD, both non-empty.")
    return user, password


def go_offline() -> None:
    """No network, ever: for huggingface_hub (already imported) and for what imports it later."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True


def startup_summary(cache: ModelCache) -> str:
    lines = [
        f"Atelier: {len(cache.registry.entries)} models in {cache.registry.source}, running on {cache.device} "
        f"with a memory budget of {cache.budget_bytes / 2**30:.1f} GB"
    ]
    lines += [f"  {e.id:<48} {e.task:<17} {cache.state(e)}" for e in cache.registry.entries.values()]
    return "\n".join(lines)


def make_backend(args, cache: ModelCache):
    """None (the in-process backend) or the Ray backend; Ray is needed only when asked for."""
    if args.backend != "ray":
        return None
    try:
        from serving.ray_backend import RayBackend
    except ImportError:
        raise AtelierError("--backend ray needs Ray: pip install -r requirements-ray.txt") from None
    return RayBackend(cache.registry, address=args.ray_address)  # with the defaults chosen for this machine


def preload_defaults(cache: ModelCache) -> None:
    """ZeroGPU runs each GPU call in a worker process: models loaded there would not stay, so the
    default models load now, in the main process (the starter ones are small)."""
    default = cache.registry.default("text-to-image")
    for model_id in filter(None, (default.id, default.expander, default.captioner)):
        try:
            cache.get(model_id)
        except AtelierError as e:
            print(f"atelier: {e}")

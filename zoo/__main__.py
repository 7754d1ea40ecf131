"""python -m zoo fetch [ID...]: download registry models now, for later offline use.

With no ID it fetches the defaults this machine would start with on the real models (zoo/defaults.py).
Shows each model's download size and a progress bar. Errors print one sentence and exit with status 2.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys

from zoo import defaults, hub
from zoo.errors import AtelierError, ModelUnavailable
from zoo.registry import DEFAULT_REGISTRY, ModelEntry, Registry, load_registry


def fetch_ids(registry: Registry, ids: list[str]) -> list[str]:
    if ids:
        return [registry.get(i).id for i in ids]
    from zoo.cache import default_budget_gb, pick_device

    device = pick_device()
    choice = defaults.choose(registry, "cuda" if device == "cpu" else device, default_budget_gb(device), True)
    first = registry.get(choice.models["text-to-image"])
    return list(
        dict.fromkeys(
            filter(
                None,
                [
                    first.id,
                    first.expander,
                    first.captioner,
                    first.scorer,
                    first.tiny_vae,
                    choice.models["prompt-expansion"],
                    choice.models["captioning"],
                ],
            )
        )
    )


def download_size(entry: ModelEntry, fp16: bool) -> int | None:
    """Bytes the files that resolve() fetches take on the hub, or None when the hub does not say."""
    from huggingface_hub import HfApi

    if entry.repo is None:
        return None
    try:
        info = HfApi().model_info(entry.repo, revision=entry.revision, files_metadata=True)
    except Exception:  # noqa: BLE001 - the size is a courtesy; the download itself reports real errors
        return None
    allow = hub.FP16_PIPELINE_FILES if fp16 else hub._allow_patterns(entry)
    skip = [] if fp16 else hub.SKIPPED
    names = [(f.rfilename, f.size or 0) for f in info.siblings or []]
    return sum(
        size
        for name, size in names
        if any(fnmatch.fnmatch(name, p) for p in allow) and not any(fnmatch.fnmatch(name, p) for p in skip)
    )


def fetch(registry: Registry, ids: list[str]) -> None:
    if hub.offline() or not hub.reachable():
        raise ModelUnavailable(
            "The Hugging Face Hub cannot be reached from here (offline), so nothing can be "
            "fetched; run this on a machine with a network."
        )
    for model_id in fetch_ids(registry, ids):
        entry = registry.get(model_id)
        if entry.is_local:
            print(f"{entry.id}: a starter model, already here")
            continue
        fp16 = entry.dtype["cuda"] == "float16" and entry.loader.endswith("Pipeline")
        size = download_size(entry, fp16)
        print(f"{entry.id}: {'size unknown' if size is None else f'{size / 2**30:.2f} GB'}", flush=True)
        folder = hub.resolve(entry, download=True, fp16=fp16)
        if fp16 and not hub.has_fp16_variant(folder):
            hub.resolve(entry, download=True)
        print(f"{entry.id}: ready in {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", default=str(DEFAULT_REGISTRY))
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download registry models for offline use")
    f.add_argument("ids", nargs="*", metavar="ID")
    args = parser.parse_args(argv)
    try:
        fetch(load_registry(args.registry), args.ids)
    except AtelierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

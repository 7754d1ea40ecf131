"""Turns a registry entry into a local folder: the starter folder, or a hub snapshot.

Only safetensors weights and the small config and tokenizer files are ever fetched, into the
standard Hugging Face cache (HF_HOME), so models already there are shared with other tools.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo.errors import ModelUnavailable, UnsafeCheckpoint
from zoo.registry import ModelEntry

PIPELINE_FILES = ["model_index.json", "*/*.json", "*/*.safetensors", "*/*.txt", "*/*.model"]
FP16_PIPELINE_FILES = ["model_index.json", "*/*.json", "*/*.fp16.safetensors", "*/*.txt", "*/*.model"]
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]
SKIPPED = ["*.fp16.*", "*.bin", "*.ckpt", "*.pt", "*.pth", "*.h5", "*.msgpack", "*.onnx", "*onnx*"]


def offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def reachable(timeout: float = 3.0) -> bool:
    """Whether the hub answers at all; a quick check at start-up so that a machine with no network
    says so once instead of failing on every model it cannot fetch."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout)
        return True
    except httpx.HTTPError:
        return False


def _allow_patterns(entry: ModelEntry) -> list[str]:
    return PIPELINE_FILES if entry.loader.endswith("Pipeline") else MODEL_FILES


def has_fp16_variant(folder: Path) -> bool:
    return any(folder.rglob("*.fp16.safetensors"))


def resolve(entry: ModelEntry, download: bool = True, fp16: bool = False) -> Path:
    """The local folder that holds the entry's files, fetching them when allowed and needed. With
    `fp16` (a pipeline loading in half precision on a GPU), a repo's fp16 variant is fetched instead of
    the full-precision weights, where it has one: half the download, no cast."""
    if entry.path is not None:
        if not entry.path.is_dir() or not any(entry.path.rglob("*.safetensors")):
            raise ModelUnavailable(
                f"The starter model '{entry.id}' has no checkpoint on this machine; train it with "
                f"`python -m training {entry.id.split('-')[-1]}`."
            )
        return entry.path
    if fp16 and entry.loader.endswith("Pipeline"):
        try:
            folder = _snapshot(entry, download, FP16_PIPELINE_FILES, [])
            if has_fp16_variant(folder):
                return folder
        except ModelUnavailable:
            pass  # no variant here or on the hub: the full weights below
    folder = _snapshot(entry, download, _allow_patterns(entry), SKIPPED)
    if not any(folder.rglob("*.safetensors")):
        raise UnsafeCheckpoint(
            f"'{entry.repo}' at revision '{entry.revision}' has no safetensors weights; Atelier never loads pickle "
            "files, so pin a revision that has them (often a refs/pr/N conversion)."
        )
    return folder


def _snapshot(entry: ModelEntry, download: bool, allow: list[str], ignore: list[str]) -> Path:
    """snapshot_download with each failure turned into one sentence (a gated repo before a missing one:
    GatedRepoError is a RepositoryNotFoundError)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    local_only = offline() or not download
    assert entry.repo is not None  # the registry gives every entry a repo or a path
    try:
        return Path(
            snapshot_download(
                entry.repo,
                revision=entry.revision,
                allow_patterns=allow,
                ignore_patterns=ignore,
                local_files_only=local_only,
            )
        )
    except (LocalEntryNotFoundError, FileNotFoundError):
        how = "it is not in the local cache and the hub is offline" if local_only else "the hub could not be reached"
        raise ModelUnavailable(
            f"'{entry.id}' is not available: {how}; connect to the network once to download it."
        ) from None
    except GatedRepoError:
        raise ModelUnavailable(
            f"'{entry.repo}' is gated: accept its licence on its hub page, then log in on this machine "
            "(`hf auth login`, or set HF_TOKEN) and try again."
        ) from None
    except RepositoryNotFoundError:
        raise ModelUnavailable(
            f"The hub has no repository '{entry.repo}' that this machine may read; if it is private, log in "
            "(`hf auth login`, or set HF_TOKEN)."
        ) from None
    except RevisionNotFoundError:
        raise ModelUnavailable(f"The hub has no revision '{entry.revision}' of '{entry.repo}'.") from None
    except OSError as e:  # network errors and the like
        raise ModelUnavailable(f"'{entry.id}' could not be downloaded ({type(e).__name__}); try again later.") from None


def state(entry: ModelEntry) -> str:
    """'on disk', 'needs download' or 'unavailable offline' (loading is the cache's business)."""
    try:
        resolve(entry, download=False)
        return "on disk"
    except UnsafeCheckpoint:
        return "refused: no safetensors"
    except ModelUnavailable:
        if entry.is_local:
            return "missing: train it"
        return "unavailable offline" if offline() else "needs download"

"""Shared fixtures. The starter registry's models are small enough to load in every run;
ATELIER_TEST_REGISTRY points the tests at another registry (e.g. untrained copies)."""

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# what the app keeps (history secret, ratings, trained adapters) goes to a folder of this run's own, never
# the user's: set before any app is built, and inherited by the subprocesses tests start
os.environ["ATELIER_DATA_DIR"] = tempfile.mkdtemp(prefix="atelier-test-data-")


@pytest.fixture(scope="session")
def registry_path() -> Path:
    return Path(os.environ.get("ATELIER_TEST_REGISTRY", REPO / "zoo" / "registry.toml"))


@pytest.fixture(scope="session")
def registry(registry_path):
    from zoo.registry import load_registry

    return load_registry(registry_path)


@pytest.fixture(scope="module")
def cache(registry):
    from zoo.cache import ModelCache

    return ModelCache(registry, device="cpu", budget_gb=4)


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory) -> Path:
    """An HF_HOME whose hub cache holds tiny random-weight copies of the registry's hub repos (and two
    broken ones), built once per session; see tests/tiny_hub.py. Use with `offline_hub`."""
    from tests.tiny_hub import build_tiny_hub

    hf_home = tmp_path_factory.mktemp("hf_home")
    build_tiny_hub(hf_home)
    yield hf_home


@pytest.fixture
def offline_hub(tiny_hub, monkeypatch) -> Path:
    """For one test: HF_HOME = tiny_hub and offline mode on (env vars and huggingface_hub.constants).
    Yields the hub cache folder, tiny_hub / "hub"."""
    from tests.tiny_hub import go_offline

    yield go_offline(monkeypatch, tiny_hub)

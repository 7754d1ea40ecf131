"""The defaults a machine starts with, the fp16 variant on GPUs, gated repos, and `python -m zoo fetch`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from zoo import cpu_path, defaults, hub
from zoo.cache import _build
from zoo.errors import ModelUnavailable
from zoo.registry import DEFAULT_REGISTRY, load_registry

STARTER = {
    "text-to-image": "starter/shapes-diffusion",
    "prompt-expansion": "starter/shapes-prompter",
    "captioning": "starter/shapes-captioner",
}


@pytest.fixture
def registry():
    return load_registry(DEFAULT_REGISTRY)


def test_a_slow_cpu_keeps_the_starter_zoo(registry):
    one_core = cpu_path.Cpu(1, frozenset({"avx2"}))  # SD-Turbo's fast path would take over 10 s a picture
    choice = defaults.choose(registry, "cpu", budget_gb=12, hub_reachable=True, cpu=one_core)
    assert choice.models == STARTER and "over the 10 s limit" in choice.reason


def test_a_gpu_with_the_hub_gets_the_real_models_sdxl_where_memory_allows(registry):
    small = defaults.choose(registry, "cuda", budget_gb=8, hub_reachable=True)
    assert small.models == {
        "text-to-image": defaults.SD_TURBO,
        "prompt-expansion": defaults.QWEN,
        "captioning": defaults.BLIP,
    }
    assert (
        defaults.choose(registry, "mps", budget_gb=40, hub_reachable=True).models["text-to-image"]
        == defaults.SDXL_TURBO
    )


def test_a_gpu_offline_uses_models_already_on_disk_else_the_starter(registry, offline_hub):
    on_disk = defaults.choose(registry, "cuda", budget_gb=8, hub_reachable=False)
    assert on_disk.models["text-to-image"] == defaults.SD_TURBO  # the tiny hub cache holds them all
    empty = load_registry(DEFAULT_REGISTRY)
    for entry in empty.entries.values():
        if not entry.is_local:
            object.__setattr__(entry, "revision", "no-such-revision")
    assert defaults.choose(empty, "cuda", budget_gb=8, hub_reachable=False).models == STARTER


def test_the_default_model_flag_overrides_and_the_registry_serves_the_choice(registry):
    choice = defaults.choose(registry, "cpu", 4, False, override="stable-diffusion-v1-5/stable-diffusion-v1-5")
    chosen = registry.with_defaults(choice.models)
    assert chosen.default("text-to-image").id == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert chosen.default("captioning").id == STARTER["captioning"]
    assert registry.default("text-to-image").id == STARTER["text-to-image"]  # the original is unchanged
    with pytest.raises(Exception, match="not a text-to-image"):
        defaults.choose(registry, "cpu", 4, False, override="starter/shapes-captioner")


def test_a_gpu_fetches_and_loads_the_fp16_variant(registry, offline_hub, monkeypatch):
    import fnmatch

    import huggingface_hub

    asked, real = [], huggingface_hub.snapshot_download
    monkeypatch.setattr(
        huggingface_hub,
        "snapshot_download",
        lambda *a, **k: asked.append((k["allow_patterns"], k["ignore_patterns"])) or real(*a, **k),
    )
    entry = registry.get("stabilityai/sd-turbo")
    folder = hub.resolve(entry, fp16=True)
    allow, ignore = asked[0]
    fetched = lambda name: (
        any(fnmatch.fnmatch(name, p) for p in allow) and not any(fnmatch.fnmatch(name, p) for p in ignore)
    )
    assert fetched("unet/diffusion_pytorch_model.fp16.safetensors")
    assert not fetched("unet/diffusion_pytorch_model.safetensors")  # half the download
    pipe = _build(entry, folder, torch.float32, "fp16")
    weight = next(pipe.unet.parameters())
    assert weight.dtype == torch.float32 and torch.equal(weight, weight.half().float())  # fp16 values, loaded
    asked.clear()
    hub.resolve(entry)
    assert fnmatch.fnmatch("unet/diffusion_pytorch_model.fp16.safetensors", asked[0][1][0])  # full weights only


def test_a_gated_repo_gets_its_own_sentence(registry, monkeypatch):
    import httpx
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):  # what the hub answers for a repo whose licence was not accepted
        answer = httpx.Response(403, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))
        raise GatedRepoError("Access to model is restricted.", response=answer)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    monkeypatch.setattr(hub, "offline", lambda: False)
    with pytest.raises(ModelUnavailable, match="gated: accept its licence"):
        hub.resolve(registry.get("stabilityai/sd-turbo"))


def test_fetch_offline_is_one_sentence_and_status_2():
    done = subprocess.run(
        [sys.executable, "-m", "zoo", "fetch", "stabilityai/sd-turbo"],
        capture_output=True,
        text=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "cannot be reached" in done.stderr

"""The model cache: lazy loads, one load per model under concurrency, LRU eviction under a budget."""
import gc
import shutil
import threading
import weakref

import pytest

from zoo.cache import ModelCache
from zoo.errors import BrokenCheckpoint, ModelUnavailable
from zoo.registry import load_registry

DIFFUSION, CAPTIONER, PROMPTER = "starter/shapes-diffusion", "starter/shapes-captioner", "starter/shapes-prompter"


def test_nothing_loads_until_first_use(registry):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    assert cache.loaded() == {} and cache.loads == 0
    assert cache.state(registry.get(DIFFUSION)) == "on disk"
    cache.get(DIFFUSION)
    assert list(cache.loaded()) == [DIFFUSION] and cache.loads == 1
    assert cache.state(registry.get(DIFFUSION)).startswith("loaded (")
    cache.get(DIFFUSION)
    assert cache.loads == 1


def test_many_requests_at_once_load_once(registry):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    results, start = [], threading.Barrier(8)

    def ask():
        start.wait()
        results.append(id(cache.get(CAPTIONER)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.loads == 1 and len(set(results)) == 1 and len(results) == 8


def test_jobs_on_one_model_run_one_at_a_time(registry):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    inside, most = [0], [0]
    lock = threading.Lock()

    def job():
        with cache.use(PROMPTER):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=job) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_least_recently_used_is_evicted_and_its_memory_freed(registry):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    pipe = cache.get(DIFFUSION)
    unet = weakref.ref(pipe.unet)
    del pipe
    cache.get(CAPTIONER)
    cache.get(PROMPTER)
    sizes = cache.loaded()
    # a budget that holds the two most recent models but not all three
    cache.budget_bytes = sizes[CAPTIONER] + sizes[PROMPTER] + 1
    cache.get(PROMPTER)  # touch: the diffusion model is now the least recently used
    cache.get(CAPTIONER)
    cache.budget_bytes = sizes[CAPTIONER] + sizes[PROMPTER] + 1
    cache._make_room(None)
    gc.collect()
    assert DIFFUSION not in cache.loaded() and set(cache.loaded()) == {CAPTIONER, PROMPTER}
    assert unet() is None  # the weights are really gone, not just forgotten


def test_a_model_in_use_is_never_evicted(registry):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    with cache.use(DIFFUSION):
        cache.budget_bytes = 1
        cache.get(PROMPTER)
        assert DIFFUSION in cache.loaded()
        assert cache.unload(DIFFUSION) is False
    assert cache.unload(DIFFUSION) is True and DIFFUSION not in cache.loaded()


def _registry_copy(tmp_path, registry_path, break_it=None):
    folder = tmp_path / "zoo"
    shutil.copytree(registry_path.parent / "starter", folder / "starter")
    (folder / "registry.toml").write_text(registry_path.read_text())
    if break_it:
        break_it(folder / "starter")
    return load_registry(folder / "registry.toml")


def test_a_corrupt_checkpoint_is_one_clear_error(tmp_path, registry_path):
    if not (registry_path.parent / "starter").is_dir():
        pytest.fail("this test needs the starter zoo beside the registry")

    def corrupt(starter):
        (starter / "shapes-diffusion" / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a tensor file")

    cache = ModelCache(_registry_copy(tmp_path, registry_path, corrupt), device="cpu", budget_gb=4)
    with pytest.raises(BrokenCheckpoint, match="does not load"):
        cache.get(DIFFUSION)
    cache.get(CAPTIONER)  # the others still serve
    assert DIFFUSION not in cache.loaded()


def test_a_missing_checkpoint_says_how_to_make_it(tmp_path, registry_path):
    def remove(starter):
        shutil.rmtree(starter / "shapes-captioner")

    registry = _registry_copy(tmp_path, registry_path, remove)
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    assert cache.state(registry.get(CAPTIONER)) == "missing: train it"
    with pytest.raises(ModelUnavailable, match="python -m training captioner"):
        cache.get(CAPTIONER)

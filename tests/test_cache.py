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


def sizes_of(registry) -> dict[str, int]:
    """Bytes each starter model holds once loaded, and the estimate the cache makes before loading it."""
    probe = ModelCache(registry, device="cpu", budget_gb=4)
    for model_id in (DIFFUSION, CAPTIONER, PROMPTER):
        probe.get(model_id)
    return probe.loaded() | {f"estimate {m}": probe._estimate(registry.get(m)) for m in (PROMPTER, CAPTIONER)}


def test_least_recently_used_is_evicted_and_its_memory_freed(registry):
    sizes = sizes_of(registry)
    assert sizes[DIFFUSION] > sizes[PROMPTER]  # the first loaded is also the largest
    # room for the diffusion model and either small one (as loaded, and as estimated before loading), not all three
    budget = sizes[DIFFUSION] + sizes[f"estimate {CAPTIONER}"] + 2**20
    assert sizes[DIFFUSION] + sizes[f"estimate {PROMPTER}"] <= budget
    assert budget < sizes[DIFFUSION] + sizes[PROMPTER] + sizes[f"estimate {CAPTIONER}"]
    cache = ModelCache(registry, device="cpu", budget_gb=budget / 2**30)
    cache.get(DIFFUSION)  # loaded first: first out under FIFO, and the largest
    prompter = weakref.ref(cache.get(PROMPTER).model)
    cache.get(DIFFUSION)  # touched: the prompter is now the least recently used
    gc.collect()
    assert set(cache.loaded()) == {DIFFUSION, PROMPTER} and prompter() is not None
    cache.get(CAPTIONER)  # no room for three: one must go
    gc.collect()
    # LRU drops the prompter; FIFO and largest-first would drop the diffusion model
    assert set(cache.loaded()) == {DIFFUSION, CAPTIONER}
    assert prompter() is None  # the weights are really gone, not just forgotten
    assert cache.loads == 3


def test_models_in_use_are_never_evicted_and_every_job_finishes(registry):
    sizes = sizes_of(registry)
    cache = ModelCache(registry, device="cpu", budget_gb=(sizes[DIFFUSION] + sizes[CAPTIONER] + 1) / 2**30)
    orders = [(DIFFUSION, CAPTIONER, PROMPTER), (PROMPTER, DIFFUSION, CAPTIONER), (CAPTIONER, PROMPTER, DIFFUSION)]
    start, finished, evicted_in_use, errors = threading.Barrier(len(orders)), [], [], []

    def job(order):
        try:
            start.wait()
            for model_id in order * 2:
                with cache.use(model_id):
                    threading.Event().wait(0.05)  # meanwhile the other jobs load models, and evict idle ones
                    if model_id not in cache.loaded():
                        evicted_in_use.append(model_id)
            finished.append(order)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=job, args=(order,)) for order in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == [] and len(finished) == len(orders)
    assert evicted_in_use == []
    assert cache.loads > 3  # models were evicted and loaded again while the jobs ran
    assert sum(cache.loaded().values()) <= cache.budget_bytes


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
        unet = starter / "shapes-diffusion" / "unet" / "diffusion_pytorch_model.safetensors"
        unet.write_bytes(b"not a tensor file")

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

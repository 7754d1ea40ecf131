"""Cross-request batching, live previews, stop and out-of-memory, on the real starter model."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from pipelines.core.control import RunControl
from pipelines.models.batching import Batcher, batcher_for
from pipelines.models.previews import preview_steps
from pipelines.tasks.generate import draw, settings
from worlds.shapes.scene_parser import parse_image
from zoo.errors import Cancelled

MODEL = "starter/shapes-diffusion"
PROMPTS = [
    "a large red circle on the left on a white background, flat style",
    "a small blue cross at the top on a gray background, outline style",
    "a large green square in the center on a black background, flat style",
    "a small yellow triangle on the right on a white background, flat style",
]


@pytest.fixture
def entry(cache):
    return cache.registry.get(MODEL)


def test_requests_that_arrive_together_share_calls_and_keep_their_pictures(cache, entry):
    run = settings(entry)
    alone = [draw(cache, entry, [p], "", run, [i])[0][0] for i, p in enumerate(PROMPTS)]
    batcher = batcher_for(cache)
    before = len(batcher.batch_sizes)
    start = threading.Barrier(len(PROMPTS))

    def one(i):
        start.wait()
        return draw(cache, entry, [PROMPTS[i]], "", run, [i])[0][0]

    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = list(pool.map(one, range(len(PROMPTS))))
    sizes = batcher.batch_sizes[before:]
    assert sum(sizes) == len(PROMPTS) and len(sizes) < len(PROMPTS) and max(sizes) > 1, sizes
    for a, b in zip(alone, together):
        difference = np.abs(np.asarray(a, int) - np.asarray(b, int))
        assert difference.max() <= 1  # batched kernels round differently: at most one level in 255
        assert parse_image(a) == parse_image(b)


def test_different_settings_never_share_a_call(cache, entry):
    batcher = Batcher(cache)
    runs = [settings(entry, steps=2), settings(entry, steps=3)]
    start = threading.Barrier(4)

    def one(i):
        start.wait()
        return batcher.draw(entry, [PROMPTS[i]], "", runs[i % 2], [i])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(4)))
    assert sum(batcher.batch_sizes) == 4 and max(batcher.batch_sizes) <= 2


def test_a_batch_never_exceeds_the_models_cap(cache, entry, monkeypatch):
    batcher = Batcher(cache)
    monkeypatch.setattr(batcher, "cap", lambda entry: 3)
    images, _ = batcher.draw(entry, PROMPTS * 2, "", settings(entry), list(range(8)))
    assert len(images) == 8 and max(batcher.batch_sizes) <= 3


def test_previews_stream_during_a_run_and_none_for_one_step(cache, entry):
    shown = []
    draw(cache, entry, PROMPTS[:2], "", settings(entry, steps=8), [1, 2], RunControl(preview=shown.append))
    assert len(shown) == len(preview_steps(8)) >= 2
    assert all(len(p) == 2 and p[0].size == (64, 64) for p in shown)
    shown.clear()
    draw(cache, entry, PROMPTS[:1], "", settings(entry, steps=1), [1], RunControl(preview=shown.append))
    assert shown == []


def test_stop_during_a_run_stops_it_after_the_current_step(cache, entry):
    stop, steps = threading.Event(), []

    def progress(done, total):
        steps.append(done)
        if done == 2:
            stop.set()

    with pytest.raises(Cancelled):
        draw(cache, entry, PROMPTS[:1], "", settings(entry, steps=8), [1], RunControl(progress, stop))
    assert steps == [1, 2]


def test_out_of_memory_retries_one_request_at_a_time(cache, entry, monkeypatch):
    batcher = Batcher(cache)
    real_call, calls = batcher._call, []

    def short_of_memory(entry, run, batch, tiled=False):
        calls.append((len(batch), tiled))
        if not tiled:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_call(entry, run, batch, tiled)

    monkeypatch.setattr(batcher, "_call", short_of_memory)
    images, _ = batcher.draw(entry, PROMPTS[:2], "", settings(entry), [1, 2])
    assert len(images) == 2 and calls == [(1, False), (1, True)]


def test_a_request_that_breaks_its_call_does_not_fail_the_others(cache, entry):
    batcher = Batcher(cache)
    run = settings(entry)
    start = threading.Barrier(4)
    prompts = PROMPTS[:3] + ["\ud800 a lone surrogate no tokenizer reads"]

    def one(i):
        start.wait()
        try:
            return batcher.draw(entry, [prompts[i]], "", run, [i])[0][0]
        except Exception as e:  # noqa: BLE001 - the one bad request's own error
            return e

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    assert all(not isinstance(r, Exception) for r in results[:3]) and isinstance(results[3], Exception)


def test_a_batcher_and_its_preview_maps_leave_with_what_they_serve(registry):
    import gc
    import weakref

    from pipelines.models import batching
    from pipelines.models.previews import Previewer
    from zoo.cache import ModelCache

    before = len(batching._BATCHERS)
    cache = ModelCache(registry, device="cpu", budget_gb=1)
    batcher = batcher_for(cache)
    assert batcher_for(cache) is batcher and "batcher" not in vars(cache)  # nothing set on the cache
    assert len(batching._BATCHERS) == before + 1
    gone = weakref.ref(cache)
    del cache, batcher
    gc.collect()
    assert gone() is None and len(batching._BATCHERS) == before
    previewer, vae = Previewer(), torch.nn.Linear(1, 1)
    previewer._maps[vae] = (torch.zeros(4, 3), torch.zeros(3))
    del vae  # the model left: its map goes with it (a reused id cannot find a stale map)
    gc.collect()
    assert len(previewer._maps) == 0

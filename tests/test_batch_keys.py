"""What may share a pipeline call, and what previews a run shows: each expectation written down here,
not computed by the code under test. Deterministic: a batcher that waits for company makes requests
sent together meet, and a batch key that drops a setting then draws one of them with the other's."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pipelines.core.control import RunControl
from pipelines.core.settings import settings
from pipelines.models.batching import Batcher

MODEL = "starter/shapes-diffusion"
PROMPT = "a large red circle on the left on a white background, flat style"
WAIT = 0.3  # seconds each call waits for company: requests sent together surely meet


@pytest.fixture
def entry(cache):
    return cache.registry.get(MODEL)


def together(batcher: Batcher, entry, runs: list[dict], seeds: list[int], **hooks_of) -> list:
    """One request per run, sent at once from threads; each request's first picture."""
    start = threading.Barrier(len(runs))

    def one(i):
        control = RunControl(**{name: make(i) for name, make in hooks_of.items()})
        start.wait()
        return batcher.draw(entry, [PROMPT], "", runs[i], [seeds[i]], control)[0][0]

    with ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(one, range(len(runs))))


def alone(cache, entry, run: dict, seed: int):
    """The picture a fresh batcher draws for one request on its own."""
    return Batcher(cache).draw(entry, [PROMPT], "", run, [seed])[0][0]


def test_requests_of_different_sizes_never_share_a_call(cache, entry):
    runs = [settings(entry), dict(settings(entry), width=128, height=128)]
    pictures = together(Batcher(cache, max_wait=WAIT), entry, runs, [1, 2])
    assert [p.size for p in pictures] == [(64, 64), (128, 128)]


def test_requests_of_different_guidance_never_share_a_call(cache, entry):
    runs = [settings(entry, guidance=1.0), settings(entry, guidance=7.0)]
    pictures = together(Batcher(cache, max_wait=WAIT), entry, runs, [3, 3])
    references = [alone(cache, entry, run, 3) for run in runs]
    difference = np.abs(np.asarray(references[0], int) - np.asarray(references[1], int)).max()
    assert difference > 20  # the two guidance values draw visibly different pictures
    for picture, reference in zip(pictures, references):
        assert np.abs(np.asarray(picture, int) - np.asarray(reference, int)).max() <= 1


def test_requests_of_different_steps_never_share_a_call(cache, entry):
    runs = [settings(entry, steps=2), settings(entry, steps=3)]
    heard: dict[int, list] = {0: [], 1: []}
    batcher = Batcher(cache, max_wait=WAIT)
    together(batcher, entry, runs, [4, 5], progress=lambda i: lambda done, total: heard[i].append((done, total)))
    assert heard == {0: [(1, 2), (2, 2)], 1: [(1, 3), (2, 3), (3, 3)]}
    assert batcher.steps_run == 5 and sorted(batcher.batch_sizes) == [1, 1]


def test_requests_with_the_same_settings_do_share_a_call(cache, entry):
    """The other side of the key: equal settings meet in one call, different prompts and seeds kept."""
    batcher = Batcher(cache, max_wait=WAIT)
    run = settings(entry)
    pictures = together(batcher, entry, [run, run, run], [6, 7, 8])
    assert batcher.batch_sizes == [3]
    for seed, picture in zip([6, 7, 8], pictures):
        assert np.abs(np.asarray(picture, int) - np.asarray(alone(cache, entry, run, seed), int)).max() <= 1


@pytest.mark.parametrize(
    "steps, side, shown_after",
    [
        (8, 64, [2, 4, 6]),  # README: "A /generate with 8 steps streams 3 previews before its picture"
        (12, 64, [3, 6, 9]),
        (6, 64, [2, 4]),
        (4, 64, []),  # the starter model's default run: over before a preview would help
        (2, 64, []),
        (1, 64, []),
    ],
)
def test_previews_come_after_the_steps_written_down(cache, entry, steps, side, shown_after):
    """Which steps a run shows a preview after, counted by hand: about four a run, never the last."""
    run = dict(settings(entry, steps=steps), width=side, height=side)
    step, seen = [0], []
    Batcher(cache).draw(
        entry,
        [PROMPT, PROMPT],
        "",
        run,
        [1, 2],
        RunControl(
            progress=lambda done, total: step.__setitem__(0, done),
            preview=lambda pictures: seen.append((step[0], [p.size for p in pictures])),
        ),
    )
    assert seen == [(s, [(side, side)] * 2) for s in shown_after]

"""The Ray backend's own rules, without starting Ray: what a shared diffusion call gives each request, and
what a replica streams back when news piles up (the newest preview, the last step carried with the answer).

Needs the optional extra (pip install -r requirements-ray.txt), which .ci/run installs."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest
from serving.batching import run_jobs
from serving.deployments import _Events
from serving.ray_backend import _follow

PROMPT = "a large red circle on the left on a white background, flat style"


def test_a_shared_draw_gives_each_request_its_own_negative_prompt(cache):
    jobs = [
        GenerateRequest(PROMPT, negative_prompt=negative, seed=5, guidance=3.0, expand_with="none")
        for negative in ("", "a red circle")
    ]
    shared, apart = run_jobs(cache, jobs, share_draws=True), run_jobs(cache, jobs, share_draws=False)
    plain, negated = (np.asarray(g.images[0], int) for g in apart)
    assert np.abs(plain - negated).max() > 20  # the negative prompt shows at guidance 3
    for s, a in zip(shared, apart):
        assert s.parameters == a.parameters
        assert np.abs(np.asarray(s.images[0], int) - np.asarray(a.images[0], int)).max() <= 1


def stream_of(script) -> list:
    """What a replica's stream yields for one request while `script(control, events, next_drain)` reports:
    everything reported before `await next_drain()` goes out in one yield."""

    async def scenario():
        events = _Events([threading.Event()])
        control = events.control(0, previews=True)
        drained = asyncio.Event()

        async def next_drain():
            drained.clear()
            await drained.wait()

        async def work():
            await script(control, events, next_drain)

        got = []
        async for batch in events.stream(work()):
            got.append(batch[0])
            drained.set()
        return got

    return asyncio.run(scenario())


def test_piled_up_news_goes_out_as_the_newest_step_and_preview():
    async def script(control, events, next_drain):
        control.step(1, 4)
        control.show(["older preview"])
        control.step(2, 4)
        control.show(["newer preview"])
        control.step(3, 4)
        await next_drain()
        control.step(4, 4)
        events.done(0, "the answer")

    assert stream_of(script) == [("update", (3, 4), ["newer preview"]), ("done", "the answer", (4, 4))]


def test_the_answer_carries_the_last_step_and_the_caller_hears_it():
    async def script(control, events, next_drain):
        control.step(1, 8)
        await next_drain()
        control.step(7, 8)
        control.step(8, 8)  # the last step and the answer pile up together
        events.done(0, "the answer")

    items = stream_of(script)
    assert items == [("update", (1, 8), None), ("done", "the answer", (8, 8))]
    heard, previews = [], []
    answer = _follow(
        iter([None, *items]), RunControl(lambda done, total: heard.append((done, total)), preview=previews.append)
    )
    assert answer == "the answer" and heard == [(1, 8), (8, 8)] and previews == []

"""Endpoints no other test calls, through a started app: /inpaint redraws what the painted layers cover
and nothing else, /outpaint extends the side asked for, and the Generate tab's Stop button (pressed as
the page presses it, over /queue/join) stops the drawing and leaves the last preview as the result."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from bench.abuse import fn_indexes
from pipelines.models.batching import batcher_for
from tests.test_app import running_app

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "two-shapes.png"  # 64 x 64, the model's size
CANONICAL = "a large red circle on the left on a white background, flat style"


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), int)


def test_inpaint_redraws_the_painted_layers_and_keeps_the_rest(client, tmp_path):
    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (32, 0, 64, 64))  # paint over the right half (the small blue square)
    layer.save(tmp_path / "layer.png")
    painted = {
        "background": handle_file(PICTURE),
        "layers": [handle_file(tmp_path / "layer.png")],
        "composite": handle_file(PICTURE),
    }
    result, used, _, png = client.predict(
        painted, "a large green triangle on a black background, flat style", seed=3, api_name="/inpaint"
    )
    before, after = pixels(PICTURE), pixels(result)
    assert after.shape == before.shape == (64, 64, 3)
    assert np.array_equal(after[:, :32], before[:, :32])  # the unpainted half, pixel for pixel
    assert (np.abs(after[:, 32:] - before[:, 32:]).max(axis=2) > 30).mean() > 0.2  # the painted half redrawn
    assert used == "a large green triangle on a black background, flat style" and Path(png).is_file()


@pytest.mark.parametrize(
    "side, size, kept",
    [
        ("left", (128, 64), (slice(None), slice(64, 128))),  # (width, height); the original's rows, columns
        ("top", (64, 128), (slice(64, 128), slice(None))),
    ],
)
def test_outpaint_extends_the_side_asked_for(client, side, size, kept):
    result, _, _, _ = client.predict(
        handle_file(PICTURE),
        side,
        "a large yellow circle on a white background, flat style",
        seed=4,
        api_name="/outpaint",
    )
    with Image.open(result) as image:
        assert image.size == size
    after = pixels(result)
    assert np.array_equal(after[kept], pixels(PICTURE))  # the original, where it belongs
    new = np.ones(after.shape[:2], bool)
    new[kept] = False
    assert np.abs(after[new] - 255).max() > 30  # the new part is drawn, not left blank or copied white


def test_stop_leaves_the_last_preview_as_the_result(app_url, cache):
    """Press Stop once the first preview shows: the drawing stops, no final picture comes, the last
    preview is what the gallery keeps, and the page is told so."""
    ids, session = fn_indexes(app_url), uuid.uuid4().hex[:11]
    with httpx.Client(base_url=app_url, timeout=120) as http:
        deps = http.get("config").json()["dependencies"]
        stop = next(d.get("id", i) for i, d in enumerate(deps) if d.get("api_name") == "stop")
        values = [CANONICAL, None, None, "none", None, 150, None, None, None, 5, None, None, None, None, None]
        join = lambda fn, data: http.post(
            "gradio_api/queue/join", json={"data": data, "fn_index": fn, "session_hash": session, "trigger_id": None}
        )
        batcher = batcher_for(cache)
        event = join(ids["generate"], values).json()["event_id"]
        galleries, logs, completed, steps_at_stop = [], [], None, None
        with http.stream("GET", f"gradio_api/queue/data?session_hash={session}") as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "log":
                    logs.append(message["log"])
                if message.get("event_id") != event or "output" not in message:
                    continue
                data = message["output"].get("data")
                if data and isinstance(data[0], list):
                    galleries.append([item["caption"] for item in data[0]])
                if message["msg"] == "process_generating" and steps_at_stop is None:
                    steps_at_stop = batcher.steps_run
                    assert join(stop, []).status_code == 200  # the Stop button
                if message["msg"] == "process_completed":
                    completed = message
                    break
    assert galleries[0] == ["preview"]  # the first preview, then Stop
    assert completed["success"] and galleries[-1] == ["preview"]  # the result the gallery keeps: the preview
    assert "Stopping after the current step." in logs
    assert "Stopped: the last preview stays on screen; nothing else was drawn." in logs
    assert batcher.steps_run - steps_at_stop < 40  # a full run would draw up to step 150

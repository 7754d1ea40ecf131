"""The request guard on every route that takes a call's values (/call, /call/v2, /run, /queue/join), for
every endpoint that takes a picture: a server path is refused with Atelier's own sentence (Gradio's
refusal would echo the path), and a full queue is answered with Atelier's sentence, not Gradio's."""

from __future__ import annotations

import json
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import ui
from bench.abuse import fn_indexes
from tests.test_app import free_port, running_app
from ui.files import NOT_UPLOADED
from ui.guard import BUSY, QUEUED_ONLY
from ui.studio import Studio

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "two-shapes.png"
FILE_DATA = {"meta": {"_type": "gradio.FileData"}}
ROUTES = ("call", "call/v2", "run", "queue/join")
# every endpoint with a picture input: its parameters in order, and the one that takes the picture
ENDPOINTS = {
    "caption": (["image", "images", "model"], "image"),
    "stylize": (["image", "style", "model", "strength", "seed"], "image"),
    "png_info": (["image"], "image"),
    "edit": (["image", "instruction", "model", "seed", "steps", "verify"], "image"),
    "inpaint": (["painted", "prompt", "model", "seed"], "painted"),
    "outpaint": (["image", "side", "prompt", "model", "seed"], "image"),
}


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


@pytest.fixture(scope="module")
def indexes(app_url) -> dict[str, int]:
    return fn_indexes(app_url)


@pytest.fixture
def secret(tmp_path) -> Path:
    """A real picture on the server, outside the upload folder."""
    path = tmp_path / f"secret-{uuid.uuid4().hex[:8]}.png"
    shutil.copy(PICTURE, path)
    return path


def post(app_url: str, route: str, api: str, values: dict, indexes: dict) -> httpx.Response:
    """One call of `api` with the named values (the rest left out or None), as the route takes it."""
    names = ENDPOINTS[api][0] if api in ENDPOINTS else list(values)
    data = [values.get(name) for name in names]
    if route == "call/v2":
        body: dict = values
    elif route == "queue/join":
        body = {"data": data, "fn_index": indexes[api], "session_hash": uuid.uuid4().hex[:11], "trigger_id": None}
    else:
        body = {"data": data}
    path = route if route == "queue/join" else f"{route}/{api}"
    return httpx.post(f"{app_url}gradio_api/{path}", json=body, timeout=60)


def expected(route: str, api: str) -> tuple[int, str]:
    """Atelier's answer to a call that names a server file: /run/ is not served for queued endpoints at all."""
    return (404, QUEUED_ONLY.format(name=api)) if route == "run" else (422, NOT_UPLOADED)


def refusal(answer: httpx.Response) -> str:
    detail = answer.json()["detail"]
    return detail if isinstance(detail, str) else " ".join(d["message"] for d in detail)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("api", list(ENDPOINTS))
def test_a_server_path_gets_atelier_sentence_on_every_route(app_url, indexes, secret, route, api):
    named = {"path": str(secret), **FILE_DATA}
    value = {"background": named, "layers": [named], "composite": named} if api == "inpaint" else named
    answer = post(app_url, route, api, {ENDPOINTS[api][1]: value}, indexes)
    assert (answer.status_code, refusal(answer)) == expected(route, api), answer.text[:300]
    assert secret.name not in answer.text  # the answer never echoes the path


@pytest.mark.parametrize("route", ROUTES)
def test_a_painted_layer_that_names_a_server_path_is_refused(app_url, indexes, secret, route):
    """The background is a real upload; only the painted layer names a server file."""
    with httpx.Client(timeout=60) as http:
        uploaded = http.post(f"{app_url}gradio_api/upload", files={"files": PICTURE.open("rb")}).json()[0]
    background = {"path": uploaded, "orig_name": PICTURE.name, **FILE_DATA}
    painted = {"background": background, "layers": [{"path": str(secret), **FILE_DATA}], "composite": background}
    answer = post(app_url, route, "inpaint", {"painted": painted, "prompt": "a red ball"}, indexes)
    assert (answer.status_code, refusal(answer)) == expected(route, "inpaint"), answer.text[:300]
    assert secret.name not in answer.text


@contextmanager
def app_with(cache, limits: ui.ServeLimits):
    demo = ui.build_app(Studio(cache), limits)
    port = free_port()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **ui.launch_options(demo, limits=limits),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_a_full_queue_is_answered_with_atelier_sentence_on_every_route(cache):
    """A queue of size 0 is always full: every route says to retry, in Atelier's words."""
    with app_with(cache, ui.ServeLimits(queue_size=0)) as url:
        ids = fn_indexes(url)
        for route in ROUTES:
            answer = post(url, route, "expand", {"prompt": "big red ball"}, ids)
            if route == "run":  # not served for queued endpoints, full queue or not
                assert json.loads(answer.text)["detail"] == QUEUED_ONLY.format(name="expand")
                continue
            assert answer.status_code == 503, (route, answer.text[:300])
            assert json.loads(answer.text)["detail"] == BUSY.format(n=0), route

"""The history the browser keeps (localStorage) comes back with every page load and every click: it is a
request like any other. Sent here as the page sends it (/queue/join to the history's own events of a
started app): entries whose thumbnail is not a small PNG, or whose settings are not an object, are left
out; settings values that are not plain numbers, or a model this zoo lacks, never reach the form."""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image, PngImagePlugin

from tests.test_app import running_app

PNG = "data:image/png;base64,"
FILE_DATA = {"meta": {"_type": "gradio.FileData"}}
GOOD = {
    "prompt": "a large red circle on the left on a white background, flat style",
    "request": "big red ball on the left",
    "negative_prompt": "",
    "model": "starter/shapes-diffusion",
    "steps": 6,
    "guidance": 2.0,
    "width": 64,
    "height": 64,
    "seed": 9,
}


def picture_bytes(size=(64, 64), kind="PNG", padding: int = 0) -> bytes:
    buffer, info = io.BytesIO(), PngImagePlugin.PngInfo()
    if padding:
        info.add_text("padding", "x" * padding)
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind, **({"pnginfo": info} if kind == "PNG" else {}))
    return buffer.getvalue()


def data_url(content: bytes, prefix: str = PNG) -> str:
    return prefix + base64.b64encode(content).decode()


def entry(thumb=None, settings=None) -> dict:
    return {"thumb": data_url(picture_bytes()) if thumb is None else thumb, "settings": settings or dict(GOOD)}


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


def event(app_url: str, name: str, data: list, event_data=None) -> dict:
    """One call of the page's event `name` (its api_name, private ones included) over /queue/join: the
    final message."""
    session = uuid.uuid4().hex[:11]
    with httpx.Client(base_url=app_url, timeout=60) as http:
        deps = http.get("config").json()["dependencies"]
        fn = next(d.get("id", i) for i, d in enumerate(deps) if d.get("api_name") == name)
        body = {"data": data, "fn_index": fn, "session_hash": session, "trigger_id": None, "event_data": event_data}
        assert http.post("gradio_api/queue/join", json=body).status_code == 200
        with http.stream("GET", f"gradio_api/queue/data?session_hash={session}") as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("no answer")


def shown(app_url: str, history) -> list[str]:
    """The captions of the history strip the page shows for `history` on load."""
    answer = event(app_url, "gallery", [history])
    assert answer["success"], answer
    return [item["caption"] for item in answer["output"]["data"][0]]


def test_good_entries_are_shown(app_url):
    second = dict(GOOD, prompt="a small blue square at the top on a black background, outline style")
    assert shown(app_url, [entry(), entry(settings=second)]) == [GOOD["prompt"], second["prompt"]]


@pytest.mark.parametrize(
    "bad",
    [
        {"thumb": data_url(picture_bytes(kind="JPEG"), "data:image/jpeg;base64,")},  # not a PNG data URL
        {"thumb": data_url(picture_bytes(), "data:text/html;base64,")},  # PNG bytes served as another type
        {"thumb": data_url(picture_bytes(kind="JPEG"))},  # says PNG, holds a JPEG
        {"thumb": data_url(picture_bytes(kind="GIF"))},
        {"thumb": data_url(picture_bytes(size=(129, 129)))},  # larger than a thumbnail
        {"thumb": data_url(picture_bytes(size=(600, 1)))},
        {"thumb": data_url(picture_bytes(padding=220_000))},  # a small picture in a huge file
        {"thumb": PNG + "not base64 at all!"},
        {"thumb": 12345},
        {"thumb": "javascript:alert(1)"},
        {"settings": ["prompt", "steps"]},  # settings of the wrong shape
        {"settings": "steps=6"},
        {"settings": None},
    ],
    ids=[
        "jpeg-url",
        "html-url",
        "jpeg-in-png",
        "gif",
        "129px",
        "600px",
        "huge-file",
        "not-base64",
        "number",
        "script",
        "settings-list",
        "settings-text",
        "settings-null",
    ],
)
def test_entries_that_do_not_check_out_are_left_out(app_url, bad):
    hostile = dict(entry(), **bad)
    if hostile.get("settings") is None:
        hostile.pop("settings")
    assert shown(app_url, [entry(), hostile, entry()]) == [GOOD["prompt"], GOOD["prompt"]]


def test_a_history_that_is_not_a_list_shows_nothing(app_url):
    for history in ({"thumb": entry()["thumb"]}, "x", 5, None):
        assert shown(app_url, history) == []


def form(app_url: str, history, index: int) -> list:
    """The Generate form's values after a click on history entry `index`: [request, prompt used,
    negative, model, steps, guidance, width, height, seed]; None where the field is left as it is."""
    answer = event(app_url, "restore", [history], {"index": index, "value": None, "selected": True})
    assert answer["success"], answer
    return [None if isinstance(v, dict) and v.get("__type__") == "update" else v for v in answer["output"]["data"]]


def test_a_click_puts_the_settings_back(app_url):
    values = form(app_url, [entry()], 0)
    assert values == [GOOD["request"], GOOD["prompt"], "", GOOD["model"], 6, 2.0, 64, 64, 9]


def test_settings_values_that_are_not_plain_numbers_or_known_models_stay_out_of_the_form(app_url):
    hostile = dict(
        GOOD,
        model="../../etc/passwd",
        steps="6; rm -rf /",
        guidance=[2.0],
        width={"value": 64},
        height="64",
        seed=None,
    )
    values = form(app_url, [entry(settings=hostile)], 0)
    assert values == [GOOD["request"], GOOD["prompt"], "", None, None, None, None, None, None]


def test_a_click_counts_only_the_entries_shown(app_url):
    """An entry left out of the strip is not clicked: index 0 is the first entry shown."""
    second = dict(GOOD, prompt="a small blue square at the top on a black background, outline style", seed=3)
    values = form(app_url, [{"thumb": 5, "settings": GOOD}, entry(settings=second)], 0)
    assert values[1] == second["prompt"] and values[-1] == 3
    answer = event(app_url, "restore", [[entry()]], {"index": 1, "value": None, "selected": True})
    assert not answer["success"] and answer["output"]["error"] == "That history entry is gone; pick another."


def test_new_pictures_go_first_and_the_history_keeps_its_last_24(app_url):
    """After a run the page sends its history, the run's parameters and PNG files: the new picture comes
    first, then the 23 newest of the old ones."""
    picture = Path(__file__).resolve().parent.parent / "assets" / "two-shapes.png"
    with httpx.Client(timeout=60) as http:
        uploaded = http.post(f"{app_url}gradio_api/upload", files={"files": picture.open("rb")}).json()[0]
    old = [entry(settings=dict(GOOD, prompt=f"old {i}")) for i in range(24)]
    made = dict(GOOD, prompt="the new one", seed=77)
    answer = event(app_url, "remember", [old, {"pictures": [made]}, [{"path": uploaded, **FILE_DATA}]])
    assert answer["success"], answer
    history = answer["output"]["data"][0]
    assert [e["settings"]["prompt"] for e in history] == ["the new one"] + [f"old {i}" for i in range(23)]
    assert history[0]["settings"]["seed"] == 77 and history[0]["thumb"].startswith(PNG)
    assert shown(app_url, history)[:2] == ["the new one", "old 0"]

"""Safe for strangers: every path a request names is refused unless this app received it as an upload
(with one sentence, whether or not the file exists), Gradio's own refusals arrive as sentences, a REST
caller may send only the first values, broken checkpoints get the clear sentence, and a crowd is served."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from pipelines.core.metadata import read_png
from pipelines.models.expander import expand
from tests.test_app import reads_as, running_app
from tests.test_pipelines import ASSET_SENTENCES, describes
from ui.files import NOT_UPLOADED, upload_folder, uploaded_picture
from ui.guard import TOO_MANY
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import sentence
from zoo.cache import ModelCache
from zoo.errors import BadInput, BrokenCheckpoint
from zoo.registry import load_registry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PICTURE = ASSETS / "two-shapes.png"
FILE_DATA = {"meta": {"_type": "gradio.FileData"}}
PROMPTER = "starter/shapes-prompter"


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


def call(app_url: str, api_name: str, data, timeout: float = 60) -> tuple[int, str]:
    """A raw REST call as curl makes it: (status of the POST, then the last event of the stream as
    "event: NAME\ndata: ..." or the refusal's body)."""
    sent = httpx.post(f"{app_url}gradio_api/call/{api_name}", json={"data": data}, timeout=timeout)
    if sent.status_code != 200:
        return sent.status_code, sent.text
    stream = httpx.get(f"{app_url}gradio_api/call/{api_name}/{sent.json()['event_id']}", timeout=timeout).text
    events = [e for e in stream.strip().split("\n\n") if not e.startswith("event: heartbeat")]
    return 200, events[-1]


@pytest.fixture
def secret_picture(tmp_path) -> Path:
    """A real picture on the server, outside the upload folder: no request may read it."""
    path = tmp_path / "secret.png"
    shutil.copy(PICTURE, path)
    yield path
    shutil.rmtree(links_for(path), ignore_errors=True)


def links_for(secret: Path) -> Path:
    """This test's own folder of links in the app's upload folder (a fresh one per secret)."""
    return upload_folder() / f"atelier-test-{secret.parent.name}"


def tricks(secret: Path) -> list:
    inside = upload_folder()
    link = links_for(secret) / "link.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(secret)  # made now, to this test's secret: the check alone must refuse it
    assert link.is_file()
    return [
        {"path": str(secret)},
        {"path": str(secret), **FILE_DATA},
        str(secret),
        [str(secret)],
        {"path": "/etc/passwd", **FILE_DATA},
        {"path": "/no/such/file.png", **FILE_DATA},
        {"path": "/no/such/file.png"},
        {"path": f"{inside}/../../{str(secret).lstrip('/')}", **FILE_DATA},
        {"path": str(link), **FILE_DATA},
        {"path": str(inside), **FILE_DATA},
        {"url": "http://127.0.0.1:1/x.png", **FILE_DATA},
        {"path": "\0"},
        42,
        {"path": "file:///etc/passwd"},
        {"path": "%2e%2e/%2e%2e/etc/passwd"},
    ]


def test_uploaded_picture_accepts_only_regular_files_inside_the_upload_folder(secret_picture):
    for trick in tricks(secret_picture):
        with pytest.raises(BadInput) as refused:
            uploaded_picture(trick)
        assert str(refused.value) == NOT_UPLOADED, trick
    inside = upload_folder() / "atelier-test" / "ok.png"
    inside.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(PICTURE, inside)
    assert uploaded_picture({"path": str(inside)}) == str(inside.resolve())


@pytest.mark.parametrize("api_name, slot", [("caption", 0), ("caption", 1), ("stylize", 0)])
def test_no_request_reads_a_server_file_or_learns_whether_it_exists(app_url, secret_picture, api_name, slot):
    answers = set()
    for trick in tricks(secret_picture):
        value = [trick] if slot == 1 and not isinstance(trick, list) else trick
        data = [None, value] if slot == 1 else [value, "outline style"][: 2 if api_name == "stylize" else 1]
        status, answer = call(app_url, api_name, data)
        assert status == 422, (trick, answer)
        assert json.loads(answer)["detail"][0]["message"] == NOT_UPLOADED
        answers.add(json.loads(answer)["detail"][0]["message"])
    assert answers == {NOT_UPLOADED}  # one sentence for existing, missing, linked and non-file paths alike


def test_gradio_client_sees_the_refusal_as_a_sentence(app_url, secret_picture):
    client = Client(app_url, verbose=False)
    with pytest.raises(Exception) as refused:  # a ValidationError from gradio_client
        client.predict({"path": str(secret_picture)}, api_name="/caption")
    assert NOT_UPLOADED in str(refused.value)
    caption, _ = client.predict(handle_file(PICTURE), api_name="/caption")  # an upload still works
    assert caption.startswith("a large red circle on the left")


@pytest.mark.parametrize("api_name, first", [("generate", "big red ball on the left"), ("expand", "tiny blue box")])
def test_a_rest_call_with_only_the_request_runs_with_the_defaults(app_url, api_name, first):
    status, answer = call(app_url, api_name, [first])
    assert status == 200 and answer.startswith("event: complete"), answer


def test_every_error_event_carries_a_sentence(app_url):
    for api_name, data in [
        ("generate", []),
        ("generate", ["x", None, None, None, None, None, None, 4096]),
        ("generate", ["x", None, "../../etc"]),
        ("caption", [None]),
        ("expand", [""]),
    ]:
        status, answer = call(app_url, api_name, data)
        assert status == 200 and answer.startswith("event: error"), answer
        message = json.loads(answer.split("data:", 1)[1])["error"]
        assert message and message.endswith(".") and "Traceback" not in message, message
    status, answer = call(app_url, "generate", "not a list")
    assert status == 422


def test_the_lowest_strength_still_draws(app_url):
    client = Client(app_url, verbose=False)
    (_, picture), used, _, png = client.predict(
        handle_file(PICTURE), "flat style", strength=0.05, seed=1, api_name="/stylize"
    )
    assert used == ASSET_SENTENCES[PICTURE.name]  # the picture's own scene, already flat
    params = read_png(Path(png))
    assert params["strength"] == 0.05 and int(params["steps"] * 0.05) >= 1  # at least one denoising step ran
    with Image.open(picture) as drawn:
        assert drawn.size == (64, 64) and sentence(parse_image(drawn)) == used  # drawn, and still the same scene
        changed = np.abs(np.asarray(drawn.convert("RGB"), int) - np.asarray(Image.open(PICTURE), int)).max(axis=2)
    assert (changed > 0).mean() > 0.1  # redrawn by the model, not handed back as it came


def test_verify_refuses_settings_it_cannot_honour(app_url):
    client = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="Number of images"):
        client.predict("big red ball", num_images=3, verify_and_refine=True, api_name="/generate")
    with pytest.raises(AppError, match="Candidates must be between 1 and 8; got 0"):  # not a quiet plain run
        client.predict("big red ball", verify_and_refine=True, candidates=0, api_name="/generate")


def test_one_session_cannot_fill_the_queue(app_url):
    """Joins sent under one session hash: past the per-session limit the next is refused with a sentence."""
    with httpx.Client(base_url=app_url, timeout=30) as http:
        fn_index = next(
            i for i, d in enumerate(http.get("config").json()["dependencies"]) if d.get("api_name") == "generate"
        )
        body = {
            "data": ["big red ball", None, None, None, None, 8, None, None, None, None, None, True, 8, 5, None],
            "fn_index": fn_index,
            "session_hash": "one-greedy-session",
            "trigger_id": None,
        }
        answers = [http.post("gradio_api/queue/join", json=body) for _ in range(8)]
        http.post(
            "gradio_api/cancel",
            json={
                "session_hash": "one-greedy-session",
                "fn_index": fn_index,
                "event_id": answers[0].json().get("event_id"),
            },
        )
    refused = [a for a in answers if a.status_code == 503]
    assert refused and all(a.json()["detail"] == TOO_MANY.format(n=4) for a in refused)
    assert sum(a.status_code == 200 for a in answers) == 4


def test_a_crowd_is_answered_in_full(cache):
    """20 people at once (20 addresses behind a trusted proxy), each asking /expand, /caption and /generate:
    every request answered."""
    from tests.test_guard import serve

    def one_client(url: str, i: int) -> list:
        client = Client(url, verbose=False, headers={"x-forwarded-for": f"198.51.100.{i + 1}"})
        jobs = [
            client.submit(f"tiny blue box {i}", api_name="/expand"),
            client.submit(handle_file(PICTURE), api_name="/caption"),
            client.submit("big red ball on the left", seed=i, api_name="/generate"),
        ]
        return [job.result(timeout=240) for job in jobs]

    with serve(cache, trust_proxy=True) as url, ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: one_client(url, i), range(20)))
    assert len(results) == 20
    for i, (expanded, (caption, _), (pictures, used, shown, files)) in enumerate(results):
        assert reads_as(expanded, size="small", colour="blue", shape="square"), expanded
        assert describes(caption, ASSET_SENTENCES[PICTURE.name]), caption
        assert len(pictures) == len(files) == 1 and shown["pictures"][0]["seed"] == i  # its own request's answer
        assert reads_as(used, size="large", colour="red", shape="circle", position="left"), used


# ------------------------------------------------------------------ broken checkpoints


def corruptions() -> dict:
    def truncate(folder):
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])

    def bad_header(folder):
        weights = folder / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[8:40] = b"{ this is not a json header !!!"
        weights.write_bytes(bytes(data))

    def wrong_shapes(folder):
        config = json.loads((folder / "config.json").read_text())
        config["n_embd"] *= 2
        (folder / "config.json").write_text(json.dumps(config))

    def missing_file(folder):
        os.remove(folder / "tokenizer.json")

    def invalid_json(folder):
        (folder / "config.json").write_text("{ not json")

    return {
        "truncated": truncate,
        "corrupted header": bad_header,
        "wrong tensor shapes": wrong_shapes,
        "missing file": missing_file,
        "invalid JSON": invalid_json,
    }


@pytest.mark.parametrize("kind", list(corruptions()))
def test_any_broken_checkpoint_gets_the_clear_sentence_and_the_rest_serves(tmp_path, registry_path, kind):
    folder = tmp_path / "zoo"
    shutil.copytree(registry_path.parent / "starter", folder / "starter")
    (folder / "registry.toml").write_text(registry_path.read_text())
    corruptions()[kind](folder / "starter" / "shapes-prompter")
    cache = ModelCache(load_registry(folder / "registry.toml"), device="cpu", budget_gb=4)
    with pytest.raises(BrokenCheckpoint) as refused:
        expand(cache, "big red ball", PROMPTER, seed=1)
    message = str(refused.value)
    assert "does not load" in message and str(tmp_path) not in message and "\n" not in message
    assert cache.get("starter/shapes-captioner") is not None  # the other models keep serving


# ------------------------------------------------------------------ a public link that respects its users


def test_prompts_are_not_written_to_the_log(app_url, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    secret = "a tiny violet plus at the bottom for my secret project"
    Client(app_url, verbose=False).predict(secret, seed=1, api_name="/generate")
    with pytest.raises(AppError):
        Client(app_url, verbose=False).predict(secret + " x" * 600, api_name="/generate")  # refused: over-long
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "secret project" in r.getMessage()]


def test_auth_puts_a_login_in_front_of_the_app(cache, monkeypatch):
    import app
    import ui
    from tests.test_app import free_port
    from ui.studio import Studio

    monkeypatch.setenv(app.AUTH_VARIABLE, "ada:lovelace")
    assert app.parse_auth(app.parse_args([]).auth) == ("ada", "lovelace")
    with pytest.raises(app.AtelierError):
        app.parse_auth("no-colon")
    demo = ui.build_app(Studio(cache))
    port = free_port()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **ui.launch_options(demo, auth=("ada", "lovelace")),
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        assert httpx.post(f"{url}gradio_api/call/expand", json={"data": ["x"]}, timeout=30).status_code in (401, 403)
        expanded = Client(url, auth=("ada", "lovelace"), verbose=False).predict("tiny blue box", api_name="/expand")
        assert reads_as(expanded, size="small", colour="blue", shape="square"), expanded
    finally:
        demo.close()


def test_malformed_bodies_and_unknown_names_get_sentences(app_url):
    def post(path: str, content: bytes) -> httpx.Response:
        return httpx.post(
            f"{app_url}gradio_api/{path}", content=content, timeout=30, headers={"content-type": "application/json"}
        )

    deep = b"[" * 100_000
    for path, body, status in [
        ("call/expand", deep, 422),
        ("call/expand", b"not json", 422),
        ("call/expand", b"null", 422),
        ("call/generate", b'{"data": ["x"], "session_hash": 5}', 422),
        ("queue/join", b'{"data": ["x"], "fn_index": "a", "session_hash": "s"}', 422),
        ("run/expand", b'{"data": "x"}', 422),
        ("call/v2/nosuch", b"{}", 404),
        ("call/v2/expand", b'{"prompt": "x", "nope": 1}', 422),
    ]:
        answer = post(path, body)
        assert answer.status_code == status, (path, body[:40], answer.text[:200])
        sentence = answer.json()["detail"]
        assert isinstance(sentence, str) and sentence.endswith(".") and "Traceback" not in sentence
    assert post("call/v2/expand", b"{}").status_code == 200  # every parameter missing: the defaults

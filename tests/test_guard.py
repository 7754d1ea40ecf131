"""The request guard, round two: every route that runs a function checked on the function that runs,
limits per person (not per client-chosen session_hash), no URL fetched, uploads held, logins slowed, the
login in front of every route and MCP, error answers without server paths. Each test starts its own app
(its own port and limits)."""

from __future__ import annotations

import base64
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import httpx
import pytest

import ui
from tests.test_app import free_port
from ui.answers import scrub
from ui.calls import NOT_UPLOADED
from ui.guard import LOG_IN, QUEUED_ONLY, TOO_MANY, WRONG_LOGIN
from ui.quotas import Logins, UploadLimits, Uploads
from ui.studio import Studio
from ui.training_slot import TrainingSlot

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "two-shapes.png"
SLOW = ["big red ball", None, None, None, None, 8, None, None, None, None, None, True, 8, 5, None]  # verify: slow


@contextmanager
def serve(cache, auth=None, **limits):
    """An app of its own on a free loopback port, with the given ServeLimits; yields its URL."""
    serve_limits = ui.ServeLimits(**limits)
    trained = Path(tempfile.mkdtemp(prefix="atelier-test-train-"))  # adapters this app trains, its own
    demo = ui.build_app(Studio(cache, training=TrainingSlot(root=trained)), serve_limits)
    port = free_port()
    options = ui.launch_options(demo, auth=auth, limits=serve_limits)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        shutil.rmtree(trained, ignore_errors=True)


def fn_index(url: str, api_name: str) -> int:
    config = httpx.get(f"{url}config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def test_one_person_cannot_fill_the_queue_by_changing_session_hash(cache):
    with serve(cache) as url, httpx.Client(base_url=url, timeout=60) as http:
        index = fn_index(url, "generate")
        answers = [
            http.post("gradio_api/queue/join", json={"data": SLOW, "fn_index": index, "session_hash": f"s{i}"})
            for i in range(7)
        ]
        via_call = http.post("gradio_api/call/generate", json={"data": SLOW})
    assert [a.status_code for a in answers] == [200] * 4 + [503] * 3, [a.text[:80] for a in answers]
    assert answers[-1].json()["detail"] == TOO_MANY.format(n=4)
    assert via_call.status_code == 503  # the same person through another route


def test_each_address_behind_a_trusted_proxy_has_its_own_limit(cache):
    with serve(cache, trust_proxy=True) as url, httpx.Client(base_url=url, timeout=60) as http:
        index = fn_index(url, "generate")

        def join(address: str, i: int) -> int:
            body = {"data": SLOW, "fn_index": index, "session_hash": f"{address}-{i}"}
            return http.post("gradio_api/queue/join", json=body, headers={"x-forwarded-for": address}).status_code

        first = [join("203.0.113.7", i) for i in range(5)]
        second = [join("198.51.100.9", i) for i in range(2)]
        spoofed = http.post(  # the app's own MCP mark, made up by a client: dropped, so it counts as itself
            "gradio_api/call/generate",
            json={"data": SLOW},
            headers={"x-forwarded-for": "203.0.113.7", "x-atelier-person": "anything address:192.0.2.1"},
        )
    assert first == [200] * 4 + [503] and second == [200, 200]
    assert spoofed.status_code == 503


def test_every_route_that_runs_a_function_is_checked(cache, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PICTURE.read_bytes())
    foreign = {"path": str(secret), "meta": {"_type": "gradio.FileData"}}
    with serve(cache) as url, httpx.Client(base_url=url, timeout=60) as http:
        caption = fn_index(url, "caption")
        huge = b'{"data": ["' + b"x" * (60 * 2**20) + b'"]}'
        started = time.monotonic()
        too_large = http.post("gradio_api/api/expand", content=huge, headers={"content-type": "application/json"})
        chunked = http.post("gradio_api/api/expand", content=iter([huge[: 2**20]] * 60))
        answers = {
            "call": http.post("gradio_api/call/caption", json={"data": [foreign]}),
            "call/v2": http.post("gradio_api/call/v2/caption", json={"image": foreign}),
            "join": http.post(
                "gradio_api/queue/join", json={"data": [foreign], "fn_index": caption, "session_hash": "s"}
            ),
        }
        by_index = [  # named expand, but fn_index runs caption: judged as caption
            http.post(f"gradio_api/{route}/expand", json={"data": ["x"], "fn_index": caption})
            for route in ("run", "api")
        ]
        queued = http.post("gradio_api/run/generate", json={"data": ["big red ball"]})
        unknown = http.post("gradio_api/api/no.such", json={"data": []})
    assert too_large.status_code == 413 and time.monotonic() - started < 30
    assert chunked.status_code == 413 and too_large.json()["detail"] == "The request is too large."
    for route, answer in answers.items():
        assert answer.status_code == 422, (route, answer.text[:200])
        assert answer.json()["detail"][0]["message"] == NOT_UPLOADED
    assert queued.status_code == 404 and queued.json()["detail"] == QUEUED_ONLY.format(name="generate")
    assert [a.json()["detail"] for a in by_index] == [QUEUED_ONLY.format(name="caption")] * 2
    assert unknown.status_code == 404 and unknown.json()["detail"].endswith("lists them.")


@contextmanager
def listener():
    """A loopback port that counts the connections it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                seen.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        thread.join()
        server.close()


def test_no_url_is_fetched_unless_the_app_served_it(cache):
    from gradio_client import Client, handle_file

    with serve(cache) as url, listener() as (port, seen):
        urls = [
            f"http://127.0.0.1:{port}/x.png",
            "https://no-such-host.invalid/x.png",
            "https://example.com/x.png",
            f"http://127.0.0.1:{port}/gradio_api/file=/etc/passwd",
        ]
        answers = set()
        for address in urls:
            for value in (address, {"path": address, "meta": {"_type": "gradio.FileData"}}, {"url": address}):
                answer = httpx.post(f"{url}gradio_api/call/caption", json={"data": [value]}, timeout=60)
                assert answer.status_code == 422, answer.text[:200]
                answers.add(answer.json()["detail"][0]["message"])
        client = Client(url, verbose=False)
        uploaded = client.predict(handle_file(PICTURE), "outline style", api_name="/stylize")[0][1]
        served = f"{url}gradio_api/file={uploaded}"
        caption, _ = client.predict({"path": served, "meta": {"_type": "gradio.FileData"}}, api_name="/caption")
    assert answers == {NOT_UPLOADED}  # one sentence, whatever the host or whether its name resolves
    assert not seen  # nothing connected to the listener
    assert caption.startswith("a ")


def test_uploads_are_held_per_request_and_per_hour(cache):
    limits = UploadLimits(per_request=100_000, per_hour=250_000, on_disk=250_000)
    with serve(cache, uploads=limits, max_file_size="100kb") as url, httpx.Client(base_url=url, timeout=60) as http:

        def upload(*sizes: int) -> httpx.Response:
            files = [("files", (f"f{i}.png", b"\x89PNG" + b"x" * size)) for i, size in enumerate(sizes)]
            return http.post("gradio_api/upload", files=files)

        two_halves_too_many = upload(60_000, 60_000)
        accepted = [upload(90_000).status_code for _ in range(2)]
        past_the_hour = upload(90_000)
    assert two_halves_too_many.status_code == 413
    assert two_halves_too_many.json()["detail"] == "One upload may hold 97 KB at most, all files together."
    assert accepted == [200, 200]
    assert past_the_hour.status_code == 413 and "in the last hour" in past_the_hour.json()["detail"]


def test_upload_quota_keeps_disk_per_person_and_deletes_old_uploads(tmp_path):
    uploads = Uploads(UploadLimits(per_request=10, per_hour=1000, on_disk=15, keep_seconds=60))
    files = []
    for i in range(2):
        (tmp_path / f"u{i}").mkdir()
        files.append(tmp_path / f"u{i}" / "f.png")
        files[-1].write_bytes(b"x" * 8)
    assert uploads.refusal("address:1", 11).startswith("One upload may hold")
    uploads.record("address:1", [str(files[0])], 8)
    assert uploads.refusal("address:1", 8).startswith("Your uploads take")  # 16 bytes would be on disk
    assert uploads.refusal("address:2", 8) is None  # another person
    uploads.prune(now=time.time() + 61)
    assert not files[0].exists() and not files[0].parent.exists()
    assert uploads.refusal("address:1", 8) is None


def test_failed_logins_slow_down_per_address():
    logins = Logins(free=3, longest=60)
    for _ in range(3):
        assert logins.wait("a") == 0
        logins.failed("a")
    logins.failed("a")
    assert 1 < logins.wait("a") <= 2 and logins.wait("b") == 0
    logins.failed("a")
    assert 3 < logins.wait("a") <= 4  # doubles
    logins.succeeded("a")
    assert logins.wait("a") == 0
    assert Logins.sentence(3.4) == "Too many failed logins from your address; try again in 3 seconds."


def basic(user: str, password: str) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_with_auth_every_route_but_the_login_page_needs_the_login(cache):
    with serve(cache, auth=("ada", "lovelace")) as url, httpx.Client(base_url=url, timeout=60) as http:
        page = http.get("")
        refused = [
            http.get("gradio_api/mcp/schema"),
            http.post("gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            http.post("gradio_api/cancel", json={"session_hash": "s", "fn_index": 0, "event_id": "e"}),
            http.post("gradio_api/reset", json={"session_hash": "s", "fn_index": 0, "event_id": "e"}),
            http.get("gradio_api/heartbeat/s"),
            http.get("gradio_api/info"),
            http.post("gradio_api/upload", files=[("files", ("a.png", PICTURE.read_bytes()))]),
            http.get("gradio_api/file=" + str(PICTURE)),
        ]
        wrong = http.post("gradio_api/call/expand", json={"data": ["x"]}, headers=basic("ada", "babbage"))
        right = http.post("gradio_api/call/expand", json={"data": ["tiny blue box"]}, headers=basic("ada", "lovelace"))
    assert page.status_code == 200
    for answer in refused:
        assert answer.status_code == 401 and answer.json()["detail"] == LOG_IN, answer.request.url
    assert wrong.status_code == 401 and wrong.json()["detail"] == WRONG_LOGIN
    assert right.status_code == 200 and "event_id" in right.json()


def test_login_attempts_are_slowed_with_a_sentence(cache):
    with serve(cache, auth=("ada", "lovelace")) as url, httpx.Client(base_url=url, timeout=60) as http:
        tries = [http.post("login", data={"username": "ada", "password": f"guess{i}"}) for i in range(6)]
        right_but_too_soon = http.post("login", data={"username": "ada", "password": "lovelace"})
        basic_too_soon = http.post("gradio_api/call/expand", json={"data": ["x"]}, headers=basic("ada", "lovelace"))
    assert [t.status_code for t in tries] == [400] * 5 + [429]
    assert tries[-1].json()["detail"].startswith("Too many failed logins from your address; try again in")
    assert right_but_too_soon.status_code == 429 and basic_too_soon.status_code == 429


def test_error_answers_name_no_server_path():
    repo = str(Path(__file__).resolve().parent.parent)
    gradio_message = (
        f'{{"error": "Cannot move {repo}/x.png to the gradio cache dir because it was not uploaded by a user."}}'
    )
    scrubbed = scrub(gradio_message.encode()).decode()
    assert repo not in scrubbed and "That file is not one this app received or made" in scrubbed
    assert repo not in scrub(f'{{"detail": "no file at {repo}/zoo/x"}}'.encode()).decode()


def test_nothing_a_person_typed_reaches_the_log(cache, caplog, capfd):
    import logging

    from tests.test_mcp import mcp
    from ui.jobs import guarded

    caplog.set_level(logging.DEBUG)
    secret = "violet plus for my secret project"

    def broken(prompt):
        raise ValueError(f"cannot draw {prompt}")

    with pytest.raises(gr.Error, match="Something went wrong"):
        guarded(broken)(secret)  # an unexpected failure: logged at ERROR, with where but not what
    with serve(cache) as url, httpx.Client(base_url=url, timeout=60) as http:
        http.post("gradio_api/call/generate", json={"data": [secret, None, None, None, None, "many"]})
        http.post("gradio_api/api/expand", json={"data": [secret]})
        http.post("gradio_api/call/v2/expand", json={"prompt": secret, "seed": "x" + secret})
        http.post("gradio_api/queue/join", json={"data": [secret], "fn_index": 10_000, "session_hash": secret})
        http.post("gradio_api/call/expand", content=b'{"data": ["' + secret.encode() + b'"')
        mcp(url, [("generate", {"prompt": secret, "steps": "many"}), ("expand", {"prompt": secret * 200})])
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "ValueError" in errors[0].getMessage()
    server_side = [r for r in caplog.records if not r.name.startswith("mcp.client")]  # not this test's own client
    assert not [r for r in server_side if "secret project" in r.getMessage()]
    printed = capfd.readouterr()
    assert "secret project" not in printed.out + printed.err

"""Ratings through the app: /feedback by file and by id, the widgets' handlers, bad input over the API
(file tricks included), and 8 gradio_client clients rating at once."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import ui
from pipelines.feedback.report import report
from pipelines.feedback.store import FeedbackStore, picture_id
from tests.test_app import free_port
from tests.test_browser import open_browser
from tests.test_feedback import made
from tests.test_safety import call, tricks
from ui import feedback, history
from ui.studio import Studio

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('feedback') / 'feedback.db'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def studio(cache, store):
    return Studio(cache, feedback=store)


@pytest.fixture(scope="module")
def app_url(studio):
    demo = ui.build_app(studio)
    port = free_port()
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **ui.launch_options(demo)
    )
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def drawn(client):
    """A picture /generate made, as an API client holds it: the PNG file."""
    _, _, shown, files = client.predict("big red ball on the left", seed=5, api_name="/generate")
    return Path(files[0]), shown["receipts"][0]


def file_id(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:32]


def stored(store: FeedbackStore) -> dict:
    return {r.picture_id: r for r in store.rated()}


def test_a_picture_is_rated_by_file_then_by_id_and_the_second_replaces_the_first(client, store, drawn):
    path, receipt = drawn
    pid = file_id(path)
    assert store.picture(pid)["request"] == "big red ball on the left"
    first = client.predict(picture=handle_file(path), rating="down", note="too dark", wrong=["object1.colour"],
                           api_name="/feedback")  # fmt: skip
    assert first == pid and stored(store)[pid].wrong == ["object1.colour"]
    assert client.predict(picture_id=pid, rating="up", api_name="/feedback") == pid
    rated = stored(store)[pid]
    assert (rated.rating, rated.note, rated.wrong, rated.receipt) == ("up", "", [], receipt)
    assert rated.settings["seed"] == 5 and rated.model == "starter/shapes-diffusion" and rated.user is None


def test_bad_ratings_over_the_api_get_a_sentence_and_store_nothing(client, store, drawn, tmp_path):
    path, _ = drawn
    pid = file_id(path)
    not_ours = tmp_path / "not-ours.png"
    not_ours.write_bytes(path.read_bytes() + b"\0")  # one byte more: not a picture Atelier made
    before = {k: (r.rating, r.note, r.rated_at) for k, r in stored(store).items()}
    cases = [
        dict(picture_id="f" * 32, rating="up"),
        dict(picture_id="../../../etc/passwd", rating="up"),
        dict(picture=handle_file(not_ours), rating="up"),
        dict(picture=handle_file(ASSETS / "two-shapes.png"), rating="up"),
        dict(picture=handle_file(path), picture_id=pid, rating="up"),
        dict(rating="up"),
        dict(picture_id=pid, rating="meh"),
        dict(picture_id=pid, rating="down", note="n" * 501),
        dict(picture_id=pid, rating="down", wrong=["object7.shape"]),
        dict(picture_id=pid, rating="down", wrong="/etc/shadow"),
    ]
    for values in cases:
        with pytest.raises(AppError) as refused:
            client.predict(**values, api_name="/feedback")
        message = str(refused.value)
        assert message.endswith(".") and "/tmp" not in message and "etc" not in message, (values, message)
        if "picture" in values and "picture_id" not in values:
            assert message == feedback.NOT_MADE
    assert {k: (r.rating, r.note, r.rated_at) for k, r in stored(store).items()} == before


def test_file_tricks_on_feedback_are_refused_before_anything_is_read(app_url, store, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes((ASSETS / "two-shapes.png").read_bytes())
    count = store.count()
    for trick in tricks(secret):
        status, answer = call(app_url, "feedback", [trick, None, "up", None, None])
        assert status in (200, 422) and "secret" not in answer and str(tmp_path) not in answer, (trick, answer)
        assert "error" in answer or status == 422, (trick, answer)
    assert store.count() == count


def test_the_widgets_pick_a_picture_prefill_its_failures_and_rate_it(studio, store, drawn):
    path, receipt = drawn
    pid = file_id(path)
    got, heading, choices, _ = feedback.from_file(studio, {"path": str(path)})
    assert got == pid and "seed 5" in heading
    assert [value for _, value in choices["choices"]] == [r["attribute"] for r in receipt]
    assert choices["value"] == [r["attribute"] for r in receipt if not r["ok"]]
    said = feedback.rate_picked(studio, "down", pid, "a note", ["object count"], SimpleNamespace(username="ann"))
    assert said.startswith("Saved 👎") and stored(store)[pid].user == "ann"  # a login name exists only with --auth
    with pytest.raises(Exception, match="Pick a picture first"):
        feedback.rate_picked(studio, "up", None, "", [])
    entries, _ = history.remember(studio, [], {"pictures": [{"seed": 5}]}, [{"path": str(path)}])
    assert entries[0]["id"] == pid
    assert feedback.from_history(studio, entries, SimpleNamespace(index=0))[0] == pid
    assert feedback.from_history(studio, [{"thumb": "x", "id": "../x"}], SimpleNamespace(index=0))[0] is None
    receipt = [{"attribute": "object1.colour", "wanted": "red", "seen": "blue", "ok": False}] + receipt[1:]
    (failing,) = store.remember([made(77, receipt)])
    _, _, choices, _ = feedback.picked(studio, failing)
    assert choices["value"] == ["object1.colour"]  # the receipt's ✗ come ticked
    models, spots = feedback.plot_data(studio)
    assert "starter/shapes-diffusion" in set(models["model"]) and set(spots["attribute"]) >= {"object count"}


def test_with_ratings_off_nothing_is_kept(cache):
    studio = Studio(cache)
    assert studio.downloads.on_write is None and feedback.widget(studio) is None
    with pytest.raises(Exception, match="turned off"):
        feedback.feedback(studio, None, "0" * 32, "up")
    assert "nothing is kept" in str(feedback.where(studio)) or feedback.where(studio)


def test_eight_clients_rate_at_once(app_url, store, tmp_path):
    """Eight gradio_client clients, six pictures each (bench/feedback_durability.py: 25 each, and a kill -9)."""
    each = 6
    pictures = [made(1000 + i) for i in range(8 * each)]
    store.remember(pictures)
    files = []
    for i, m in enumerate(pictures):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(m.png)
    acknowledged: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def rater(k: int) -> None:
        client = Client(app_url, verbose=False)
        for i in range(k * each, (k + 1) * each):
            by = dict(picture=handle_file(files[i])) if i % 2 else dict(picture_id=pictures[i].id)
            try:
                got = client.predict(**by, rating="up" if i % 3 else "down", note=f"n{i}", api_name="/feedback")
            except Exception as e:  # counted, then asserted on below
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
                continue
            with lock:
                acknowledged.append(got)

    before = store.count()
    threads = [threading.Thread(target=rater, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == [] and sorted(acknowledged) == sorted(m.id for m in pictures)
    rated = stored(store)
    assert all(rated[m.id].note == f"n{i}" for i, m in enumerate(pictures))
    assert store.count() == before + len(pictures) and report(store.rated())["ratings"] == store.count()
    assert picture_id(pictures[0].png) == pictures[0].id


@pytest.fixture
def browser(tmp_path, monkeypatch):
    yield from open_browser(tmp_path, monkeypatch, "en-US")


def test_a_person_rates_a_new_picture_in_the_browser(browser, app_url, store, tmp_path):
    """Generate, then 👎 under the gallery: the receipt's ✗ come ticked, and the rating is stored."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    request = WebDriverWait(browser, 60).until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#request textarea")))
    assert "Ratings are kept on this server" in browser.find_element(By.ID, "ratings-kept").text
    request.send_keys("big red ball on the left")
    browser.find_element(By.ID, "generate-button").click()
    heading = ".rate-heading"
    try:
        WebDriverWait(browser, 120, poll_frequency=0.5).until(
            lambda d: any("Rating the picture" in e.text for e in d.find_elements(By.CSS_SELECTOR, heading))
        )
        before = store.count()
        next(b for b in browser.find_elements(By.CSS_SELECTOR, ".rate-down") if b.is_displayed()).click()
        WebDriverWait(browser, 60, poll_frequency=0.5).until(
            lambda d: any("Saved 👎" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".rate-said"))
        )
    finally:
        browser.save_screenshot(str(tmp_path / "rating.png"))
    assert store.count() == before + 1
    newest = max(store.rated(), key=lambda r: r.rated_at)
    assert newest.rating == "down" and newest.request == "big red ball on the left"
    assert newest.wrong == [r["attribute"] for r in newest.receipt if not r["ok"]]  # as the receipt had it

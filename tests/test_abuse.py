"""The fast parts of bench/abuse.py: its classifier, and a sample of its bad inputs sent as raw HTTP to an
in-process app, classified the same way (no file read or revealed, every refusal a sentence, no hang,
the server alive)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from bench import abuse
from bench.abuse import (
    ANSWERED,
    DEAD,
    FAILURES,
    GENERIC,
    HANG,
    NO_SENTENCE,
    REVEALED,
    SENTENCE,
    Answer,
    Case,
    Result,
    classify,
    message_of,
    readable,
)
from tests.test_guard import serve
from ui.files import NOT_UPLOADED, upload_folder
from ui.guard import QUEUED_ONLY

GUARDED_ROUTES = ("HTTP call", "HTTP join", "HTTP GET", "HTTP upload")
CALL_ROUTES = ("HTTP call", "HTTP run", "HTTP v2", "HTTP join")  # the routes Atelier's request guard answers
ZOO_TAB = ("/load ", "/unload ")  # the Zoo tab's events: Gradio checks their dropdown value before Atelier does


@pytest.fixture(scope="module")
def app_url(cache):
    with serve(cache, trust_proxy=True) as url:  # the bench's clients stand for people of their own
        yield url


@pytest.fixture
def ground(app_url, tmp_path, monkeypatch):
    monkeypatch.setenv(abuse.ENV_CANARY, "canary-of-this-test-process")
    made = abuse.make_ground(tmp_path / "bench", upload_folder(), app_url)
    made.fn_index = abuse.fn_indexes(app_url)
    yield made
    for target in made.targets:  # the links the ground planted in the shared upload folder
        if target[0] == "symlink in the upload folder":
            shutil.rmtree(Path(target[1]).parent, ignore_errors=True)


def test_readable_sentences_and_what_is_not_one():
    assert readable("The prompt is empty; describe the picture you want.")
    assert readable("File not allowed: /etc/passwd.")
    assert readable("'x' is not a model id; ids look like 'owner/name'.")
    for dump in [
        None,
        "",
        "null",
        "Error",
        "Not Found",
        "Internal Server Error",
        "no full stop here",
        "Traceback (most recent call last): ...",
        "1 validation error for ImageData [type=model_type].",
        "KeyError: 'image'.",
        "Wanted inputs: [<gradio.components.image.Image object at 0x7f10>].",
        "The upstream Gradio app has raised an exception but has not enabled verbose error reporting.",
        "Two lines.\nOf text.",
    ]:
        assert not readable(dump), dump


def test_message_of_takes_the_words_and_leaves_dumps():
    assert message_of('{"detail": "The request is too large."}') == "The request is too large."
    assert message_of('{"detail": [{"message": "Upload it.", "is_valid": false}]}') == "Upload it."
    assert message_of('{"error": "Steps must be a number."}') == "Steps must be a number."
    assert message_of('{"error": null}') is None
    assert message_of('{"detail": [{"type": "missing", "loc": ["body", "data"], "msg": "Field required"}]}') is None
    assert message_of("Internal Server Error") == "Internal Server Error"


def test_classify_every_outcome():
    assert classify(Answer(200, "complete")) == ANSWERED
    assert classify(Answer(200, "complete"), forbidden=True) == REVEALED  # a request that names a server file
    assert classify(Answer(403, "error", "xx SECRET xx", "File not allowed."), ("SECRET",)) == REVEALED
    assert classify(Answer(422, "error", "", "Atelier only opens pictures uploaded to it.")) == SENTENCE
    assert classify(Answer(200, "error", "", "Something went wrong on the server.")) == GENERIC
    assert classify(Answer(200, "error", "", None)) == NO_SENTENCE
    assert classify(Answer(hang=True)) == HANG
    assert classify(Answer(gone=True)) == DEAD


def test_twins_that_answer_differently_reveal_the_file():
    def twin(path, message, pair="p"):
        case = Case(
            "file tricks",
            "HTTP call",
            path,
            lambda g: Answer(),
            forbidden=True,
            pair=pair,
            names=("/srv/a.png", "/srv/missing.png"),
        )
        return Result(case, Answer(422, "error", "", message), SENTENCE)

    same = [twin("/srv/a.png", "No file at /srv/a.png."), twin("/srv/missing.png", "No file at /srv/missing.png.")]
    differ = [twin("/srv/a.png", "That file is not a picture.", "q"), twin("/srv/missing.png", "No such file.", "q")]
    abuse.mark_revealing_twins(same + differ)
    assert [r.outcome for r in same] == [SENTENCE, SENTENCE]
    assert [r.outcome for r in differ] == [REVEALED, SENTENCE]


def test_a_sample_of_bad_inputs_over_raw_http(ground):
    """About 40 of the bench's raw-HTTP cases on the routes Atelier's request guard covers: every
    family (prompts, numbers, model ids, pictures, huge uploads, file tricks, file routes)."""
    cases = [
        c
        for c in abuse.all_cases(ground)
        if c.via in GUARDED_ROUTES and c.family != "JSON shapes" and not c.name.startswith(ZOO_TAB)
    ]
    results = abuse.run_cases(abuse.sample(cases, 48), ground, workers=2)
    counts = Counter(r.outcome for r in results)
    assert len(results) >= 38 and {r.case.family for r in results} == {c.family for c in cases}, counts
    assert not [f for f in FAILURES if counts[f]], abuse.notable(results)
    assert counts[SENTENCE] >= 20, counts  # most of them are refusals, each in words
    assert not not_atelier_refusals(results)


def not_atelier_refusals(results) -> list:
    """Refusals that are not Atelier's own: a file trick on a route the guard answers must get its
    sentence (Gradio's own refusal is readable too, but names the path); no refusal on those routes repeats
    a path the request named (Gradio's own file routes do, the same for existing and missing files)."""
    wrong = []
    for r in results:
        message = r.answer.message or ""
        if r.case.family == "file tricks" and r.case.via in CALL_ROUTES and message not in atelier_sentences(r):
            wrong.append((r.case.via, r.case.name, message[:120]))
        elif r.case.via in CALL_ROUTES and any(len(n) > 5 and n in message for n in r.case.names):
            wrong.append((r.case.via, r.case.name, message[:120]))
    return wrong


def atelier_sentences(result) -> set[str]:
    """What Atelier answers a file trick with: its upload sentence; on /run/ (not served for queued
    endpoints) the sentence that says to use /call/."""
    if result.case.via == "HTTP run":
        return {QUEUED_ONLY.format(name=result.case.name.split()[0].lstrip("/"))}
    return {NOT_UPLOADED}


def test_file_tricks_on_every_call_route_get_atelier_sentence(ground):
    tricks = [c for c in abuse.all_cases(ground) if c.family == "file tricks" and c.via in CALL_ROUTES]
    picked = [c for via in CALL_ROUTES for c in abuse.sample([c for c in tricks if c.via == via], 5)]
    results = abuse.run_cases(picked, ground, workers=2)
    assert len(results) == 20 and {r.case.via for r in results} == set(CALL_ROUTES)
    assert not not_atelier_refusals(results)
    statuses = {(r.case.via, r.answer.status) for r in results}
    assert statuses == {("HTTP call", 422), ("HTTP v2", 422), ("HTTP join", 422), ("HTTP run", 404)}, statuses


def test_unguarded_routes_and_wrong_json_shapes_answer_in_words(ground):
    cases = [
        c
        for c in abuse.all_cases(ground)
        if c.via in ("HTTP run", "HTTP v2") or c.family == "JSON shapes" or c.name.startswith(ZOO_TAB)
    ]
    results = abuse.run_cases(abuse.sample(cases, 12), ground, workers=2)
    counts = Counter(r.outcome for r in results)
    assert not [f for f in FAILURES if counts[f]], abuse.notable(results)
    assert not not_atelier_refusals(results)


def test_a_bad_request_does_not_fail_the_good_ones_drawn_with_it(app_url):
    counts = abuse.poisoned_batches(app_url, good=6, rounds=1)
    assert counts["good", ANSWERED] == 6, counts

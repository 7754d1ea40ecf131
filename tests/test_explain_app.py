"""Explain in the app: /explain over HTTP (a PNG Atelier made, drawn again with its maps), and the
Generate tab's view (chips, the receipt's ✗ rows leading to their word, the overlay)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from pipelines.core.results import NONE, GenerateRequest
from tests.test_app import running_app
from ui import explain as explain_view
from ui.studio import Studio

PROMPT = "a large red circle on the left and a small blue cross on the right on a gray background, flat style"


@pytest.fixture(scope="module")
def client(cache):
    with running_app(cache) as url:
        yield Client(url, verbose=False)


def test_explain_a_png_over_the_api_twice_gives_the_same_maps(client):
    pictures, _, _, pngs = client.predict(PROMPT, rewritten_prompt=PROMPT, seed=11, api_name="/generate")
    words, files = client.predict(handle_file(pngs[0]), api_name="/explain")
    assert [w["word"] for w in words] == PROMPT.replace(",", "").split()
    assert [w["map"] for w in words] == list(range(1, len(words) + 1)) and len(files) == len(words) + 1
    assert np.array_equal(np.asarray(Image.open(files[0])), np.asarray(Image.open(pngs[0])))  # the same picture
    again_words, again = client.predict(handle_file(pngs[0]), api_name="/explain")
    assert again_words == words
    for a, b in zip(files[1:], again[1:]):
        with Image.open(a) as x, Image.open(b) as y:
            assert x.mode == "L" and x.size == (64, 64) and np.array_equal(np.asarray(x), np.asarray(y))


def test_explain_with_nothing_to_explain_is_one_sentence(client):
    with pytest.raises(Exception, match="Give a PNG Atelier made, or a prompt"):
        client.predict(api_name="/explain")


def test_the_generate_tab_shows_chips_misses_and_the_overlay(cache):
    studio = Studio(cache)
    request = SimpleNamespace(session_hash="s1")
    job = GenerateRequest(PROMPT, model="starter/shapes-diffusion", expand_with=NONE, seed=2, explain=True)
    result = studio.backend.generate(job)
    picture = result.pictures[0]
    picture.receipt = [dict(row) for row in picture.receipt] + [
        {"attribute": "object2.shape", "wanted": "cross", "seen": "square", "ok": False}
    ]
    studio.explanations.keep("s1", result)
    index, chips, misses, overlay = explain_view.view(studio, 0, request)
    assert index == 0 and [label for label, _ in chips["choices"]][:4] == ["a", "large", "red", "circle"]
    cross = str(PROMPT.split().index("cross"))
    assert misses["choices"][-1][1] == cross and chips["value"] == misses["choices"][0][1]
    red = explain_view.overlay(studio, 0, "2", request)
    assert red.size == picture.image.size and not np.array_equal(np.asarray(red), np.asarray(picture.image))
    assert explain_view.view(studio, 0, SimpleNamespace(session_hash="other"))[1]["choices"] == []


def test_explain_a_request_maps_the_words_of_the_prompt_drawn(client):
    words, files = client.predict(prompt="big red ball on the left", seed=7, api_name="/explain")
    drawn = [w["word"] for w in words]
    assert drawn[:4] == ["a", "large", "red", "circle"] and "background" in drawn and len(files) == len(words) + 1

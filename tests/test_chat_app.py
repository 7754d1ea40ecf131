"""The Chat tab's endpoint /chat through gradio_client, and its export, on a started app."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.test_app import running_app
from ui import chat as chat_tab
from ui.studio import Studio


@pytest.fixture(scope="module")
def client(cache):
    with running_app(cache) as url:
        yield Client(url, verbose=False)


def test_a_conversation_through_the_api(client, cache, tmp_path):
    thread, conversation, reply, png = client.predict(
        "a large red circle in the center on a white background, flat style", None, None, 4, api_name="/chat"
    )
    assert reply.startswith("Here it is: a large red circle in the center") and Path(png).is_file()
    thread, conversation, reply, png = client.predict("把它变小", conversation, None, 4, api_name="/chat")
    assert reply.startswith("好了") and conversation["at"] == 1 and len(conversation["turns"]) == 2
    assert [m["role"] for m in thread] == ["user", "assistant", "assistant", "user", "assistant", "assistant"]
    zipped = chat_tab.export(Studio(cache), conversation)
    with zipfile.ZipFile(zipped) as archive:
        assert [t["action"] for t in json.loads(archive.read("thread.json"))] == ["draw", "change"]


def test_a_forged_conversation_gets_a_sentence(client):
    forged = {"version": 1, "at": 0, "focus": None, "turns": [], "pictures": [{"png": "/etc/passwd", "turn": 1}]}
    with pytest.raises(AppError, match="not one Atelier wrote"):
        client.predict("make it bigger", forged, None, 4, api_name="/chat")

"""History restores are bounded: at most MAX_ENTRIES entries are read however many the browser sends, and an
entry whose numbers are out of the form's ranges (an absurd width) is refused with a sentence."""

from __future__ import annotations

import base64
import io
import math

import pytest
from PIL import Image

from ui import history
from ui.studio import Studio
from zoo.errors import BadInput


def entry(**settings) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    thumb = history.PNG_DATA_URL + base64.b64encode(buffer.getvalue()).decode()
    return {"thumb": thumb, "settings": {"prompt": "big red ball", **settings}}


@pytest.mark.parametrize("key, value", [("width", 10**12), ("height", -5), ("steps", 10**6), ("guidance", math.inf)])
def test_an_absurd_number_is_refused_with_a_sentence(cache, key, value):
    with pytest.raises(BadInput) as refused:
        history.form_values(Studio(cache), entry(**{key: value})["settings"])
    message = str(refused.value)
    assert message.startswith(f"That entry's {key} (") and message.endswith("pick another entry.")


def test_good_numbers_fill_the_form(cache):
    values = history.form_values(Studio(cache), entry(width=64, height=64, steps=4, seed=7)["settings"])
    assert values[6:] == [64, 64, 7]


def test_only_the_first_entries_are_read(cache, monkeypatch):
    read = []
    check = history._valid
    monkeypatch.setattr(history, "_valid", lambda e: read.append(e) or check(e))
    items = history.gallery(Studio(cache), [entry()] * 5000)
    assert len(items) == history.MAX_ENTRIES and len(read) == history.MAX_ENTRIES

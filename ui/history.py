"""This browser's recent results, kept in its own localStorage (gr.BrowserState): they survive a reload
and never leave the person's machine except to be shown. What the browser sends back is checked like
any other request: thumbnails must be small PNG data URLs, settings plain values."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import gradio as gr
from PIL import Image

from pipelines.feedback.store import picture_id
from ui.files import uploaded_picture
from ui.studio import Studio
from zoo.errors import BadInput

MAX_ENTRIES = 24
THUMB_SIDE = 128
PNG_DATA_URL = "data:image/png;base64,"
MAX_THUMB_CHARS = 200_000
SETTINGS = ("prompt", "request", "negative_prompt", "model", "steps", "guidance", "width", "height", "seed")


def remember(studio: Studio, history, shown, files):
    """Adds the pictures just made (their PNG files and settings) to the front of the history."""
    entries = [e for e in history if _valid(e)] if isinstance(history, list) else []
    pictures = (shown or {}).get("pictures", []) if isinstance(shown, dict) else []
    new = []
    for item, params in zip(files or [], pictures):
        path = uploaded_picture(item)
        with Image.open(path) as image:
            thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        thumb.save(buffer, format="PNG")
        settings = {k: params.get(k) for k in SETTINGS if isinstance(params, dict)}
        thumb_url = PNG_DATA_URL + base64.b64encode(buffer.getvalue()).decode()
        new.append({"thumb": thumb_url, "settings": settings, "id": picture_id(Path(path).read_bytes())})  # to rate it
    history = (new + entries)[:MAX_ENTRIES]
    return history, gallery(studio, history)


def gallery(studio: Studio, history) -> list:
    """The history as gallery items (newest first); entries that do not check out are left out."""
    items = []
    for entry in history if isinstance(history, list) else []:
        if _valid(entry):
            image = Image.open(io.BytesIO(base64.b64decode(entry["thumb"][len(PNG_DATA_URL) :])))
            items.append((image.convert("RGB"), str(entry["settings"].get("prompt") or "")[:80]))
    return items


def restore(studio: Studio, history, evt: gr.SelectData):
    """The settings of the clicked entry, back in the form."""
    entries = [e for e in history if _valid(e)] if isinstance(history, list) else []
    if not isinstance(evt.index, int) or not 0 <= evt.index < len(entries):
        raise BadInput("That history entry is gone; pick another.")
    return form_values(studio, entries[evt.index]["settings"])


def form_values(studio: Studio, settings: dict) -> list:
    """[request, prompt used, negative, model, steps, guidance, width, height, seed] for the Generate form;
    a value that is missing (or a model this zoo lacks) leaves its field as it is."""
    keep = gr.update()
    model = settings.get("model")
    request = settings.get("request") or settings.get("prompt")
    return [
        request or keep,
        settings.get("prompt") or keep,
        settings.get("negative_prompt") or "",
        model if isinstance(model, str) and model in studio.registry.entries else keep,
        *[
            settings[k] if isinstance(settings.get(k), int | float) else keep
            for k in ("steps", "guidance", "width", "height", "seed")
        ],
    ]


def clear(studio: Studio):
    return [], []


def _valid(entry) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("settings"), dict):
        return False
    thumb = entry.get("thumb")
    if not isinstance(thumb, str) or not thumb.startswith(PNG_DATA_URL) or len(thumb) > MAX_THUMB_CHARS:
        return False
    try:
        with Image.open(io.BytesIO(base64.b64decode(thumb[len(PNG_DATA_URL) :], validate=True))) as image:
            return image.format == "PNG" and max(image.size) <= THUMB_SIDE
    except (OSError, ValueError):
        return False

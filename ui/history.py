"""This browser's recent results, kept in its own localStorage (gr.BrowserState): they survive a reload
and a restart of the app, and never leave the person's machine except to be shown. The browser encrypts
them with a secret kept with the app's data (history_secret). What the browser sends back is checked like
any other request: at most MAX_ENTRIES entries are read, thumbnails must be small PNG data URLs, settings
plain values within the form's ranges."""

from __future__ import annotations

import base64
import io
import os
import secrets
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
MAX_THUMB_CHARS = 70_000  # 24 of them fit the request guard's 2 MB body cap
SECRET_VARIABLE = "ATELIER_HISTORY_SECRET"
DATA_VARIABLE = "ATELIER_DATA_DIR"
RANGES = {"steps": (1, 200), "guidance": (0, 50), "width": (8, 4096), "height": (8, 4096), "seed": (-1, 2**32 - 1)}
SETTINGS = ("prompt", "request", "negative_prompt", "model", "steps", "guidance", "width", "height", "seed")


def remember(studio: Studio, history, shown, files):
    """Adds the pictures just made (their PNG files and settings) to the front of the history."""
    entries = _entries(history)
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
    for entry in _entries(history):
        image = Image.open(io.BytesIO(base64.b64decode(entry["thumb"][len(PNG_DATA_URL) :])))
        items.append((image.convert("RGB"), str(entry["settings"].get("prompt") or "")[:80]))
    return items


def restore(studio: Studio, history, evt: gr.SelectData):
    """The settings of the clicked entry, back in the form."""
    entries = _entries(history)
    if not isinstance(evt.index, int) or not 0 <= evt.index < len(entries):
        raise BadInput("That history entry is gone; pick another.")
    return form_values(studio, entries[evt.index]["settings"])


def form_values(studio: Studio, settings: dict) -> list:
    """[request, prompt used, negative, model, steps, guidance, width, height, seed] for the Generate form;
    a value that is missing (or a model this zoo lacks) leaves its field as it is."""
    keep = gr.update()
    for key, (low, high) in RANGES.items():
        value = settings.get(key)
        if isinstance(value, int | float) and not low <= value <= high:
            raise BadInput(f"That entry's {key} ({str(value)[:12]}) is outside {low} to {high}; pick another entry.")
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


def _entries(history) -> list:
    """The first MAX_ENTRIES entries of a history that check out (a longer list is cut, not read)."""
    return [e for e in history[:MAX_ENTRIES] if _valid(e)] if isinstance(history, list) else []


def history_secret() -> str:
    """The secret the browser encrypts the history with: $ATELIER_HISTORY_SECRET (set it on a Space), else
    a file in the user's data folder, made once (readable by this user only) and read at every start, so
    the history survives a restart. Never in the repository."""
    if given := os.environ.get(SECRET_VARIABLE):
        return given
    path = data_folder() / "history-secret"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def data_folder() -> Path:
    """$ATELIER_DATA_DIR, else $XDG_DATA_HOME/atelier, else ~/.local/share/atelier (made 0700)."""
    shared = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = Path(os.environ.get(DATA_VARIABLE) or shared / "atelier")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


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

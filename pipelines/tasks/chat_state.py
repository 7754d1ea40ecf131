"""A conversation as plain JSON (kept in the browser, sent back with each message) and as a zip (the PNGs
with their parameters, and the thread as JSON). What comes back from a browser is hostile until checked:
pictures must be PNG data URLs of a bounded size, every other value plain and short."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

from pipelines.core import metadata
from pipelines.tasks.chat import ACTIONS, Conversation, Snapshot
from zoo.errors import BadInput

VERSION = 1
MAX_PICTURES = 24  # the oldest go first: undo reaches back this far
MAX_TURNS = 200
MAX_TEXT = 4000
MAX_PNG_CHARS = 4_000_000
MAX_STATE_CHARS = 700_000
MAX_SIDE = 2048
PNG_DATA_URL = "data:image/png;base64,"
FOCUS = re.compile(r"^[a-z]{1,20}$")
NOT_OURS = "The conversation sent back is not one Atelier wrote; start a new conversation."


def to_json(conversation: Conversation) -> dict:
    """The conversation as plain JSON. The oldest pictures before the current one are left out past
    MAX_PICTURES, or past MAX_STATE_CHARS of PNG in all (the app's request guard takes bodies up to 1 MB)."""
    urls: list[str] = []
    for index in range(len(conversation.pictures) - 1, -1, -1):
        url = _data_url(conversation.pictures[index].image)
        full = len(urls) >= MAX_PICTURES or sum(map(len, urls)) + len(url) > MAX_STATE_CHARS
        if index < conversation.at and full:
            break
        urls.insert(0, url)
    drop = len(conversation.pictures) - len(urls)
    turns = [t | {"picture": _shift(t["picture"], drop)} for t in conversation.turns[-MAX_TURNS:]]
    pictures = conversation.pictures[drop:]
    return {
        "version": VERSION,
        "at": max(conversation.at - drop, -1),
        "focus": conversation.focus,
        "pictures": [{"png": url, "parameters": p.parameters, "turn": p.turn} for url, p in zip(urls, pictures)],
        "turns": turns,
    }


def _shift(index, drop: int):
    return None if index is None or index < drop else index - drop


def from_json(data) -> Conversation:
    """The conversation a browser sent back; None or {} is a new one. Refuses anything malformed."""
    if data in (None, {}, ""):
        return Conversation()
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise BadInput(NOT_OURS) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise BadInput(NOT_OURS)
    pictures, turns = data.get("pictures"), data.get("turns")
    if not isinstance(pictures, list) or not isinstance(turns, list):
        raise BadInput(NOT_OURS)
    if len(pictures) > MAX_PICTURES or len(turns) > MAX_TURNS:
        raise BadInput(NOT_OURS)
    snapshots = [_snapshot(p) for p in pictures]
    at = data.get("at")
    if type(at) is not int or not -1 <= at < len(snapshots) or (at == -1 and snapshots):
        raise BadInput(NOT_OURS)
    return Conversation(snapshots, at, _focus(data.get("focus")), [_turn(t, len(snapshots)) for t in turns])


def _snapshot(item) -> Snapshot:
    if not isinstance(item, dict) or not isinstance(item.get("png"), str) or type(item.get("turn")) is not int:
        raise BadInput(NOT_OURS)
    url = item["png"]
    if not url.startswith(PNG_DATA_URL) or len(url) > MAX_PNG_CHARS:
        raise BadInput(NOT_OURS)
    try:
        with Image.open(io.BytesIO(base64.b64decode(url[len(PNG_DATA_URL) :], validate=True))) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE:
                raise BadInput(NOT_OURS)
            picture = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise BadInput(NOT_OURS) from None
    return Snapshot(picture, _parameters(item.get("parameters")), item["turn"])


def _parameters(value) -> dict:
    """Plain values only (text, numbers, booleans, None), short; anything else is left out."""
    if not isinstance(value, dict):
        return {}
    plain = (str, int, float, bool, type(None))
    return {
        str(k)[:40]: (v[:MAX_TEXT] if isinstance(v, str) else v)
        for k, v in list(value.items())[:40]
        if isinstance(k, str) and isinstance(v, plain)
    }


def _focus(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not FOCUS.match(value):
        raise BadInput(NOT_OURS)
    return value


def _turn(item, pictures: int) -> dict:
    if not isinstance(item, dict):
        raise BadInput(NOT_OURS)
    texts = [item.get(k) for k in ("message", "reply")]
    picture, turn = item.get("picture"), item.get("turn")
    if not all(isinstance(t, str) and len(t) <= MAX_TEXT for t in texts) or item.get("action") not in ACTIONS:
        raise BadInput(NOT_OURS)
    if type(turn) is not int or not (picture is None or (type(picture) is int and 0 <= picture < pictures)):
        raise BadInput(NOT_OURS)
    return {"turn": turn, "message": texts[0], "action": item["action"], "reply": texts[1], "picture": picture}


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PNG_DATA_URL + base64.b64encode(buffer.getvalue()).decode()


def picture_name(snapshot: Snapshot) -> str:
    return f"{snapshot.turn:04d}.png"


def export_zip(conversation: Conversation, path: Path, embed: bool = True) -> Path:
    """A zip of every kept picture (NNNN.png, with its parameters unless `embed` is off) and thread.json."""
    thread = []
    for t in conversation.turns:
        picture = conversation.pictures[t["picture"]] if t["picture"] is not None else None
        image = picture_name(picture) if picture else None
        thread.append({k: t[k] for k in ("turn", "message", "action", "reply")} | {"image": image})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, tempfile.TemporaryDirectory() as folder:
        for snapshot in conversation.pictures:
            png = Path(folder) / picture_name(snapshot)
            if embed:
                metadata.save_png(snapshot.image, png, snapshot.parameters)
            else:
                snapshot.image.save(png, format="PNG")
            archive.write(png, png.name)
        archive.writestr("thread.json", json.dumps(thread, ensure_ascii=False, indent=1))
    return path

"""A rating as a person sends it, checked before anything is stored: which picture, up or down, a short
note, and the receipt's attributes they found wrong. Every refusal is one sentence that repeats none of
the values it was given (they may be paths or anything else)."""

from __future__ import annotations

import unicodedata

from pipelines.feedback.store import ID_PATTERN, FeedbackStore
from zoo.errors import BadInput

RATINGS = {"up": "up", "down": "down", "👍": "up", "👎": "down"}
MAX_NOTE = 500  # characters
MAX_WRONG = 64  # attribute names in one rating
UNKNOWN_PICTURE = (
    "Atelier has no picture with that id (it keeps unrated pictures for 7 days); rate a picture from "
    "this app's results, by its PNG file or its id."
)


def rating_value(value) -> str:
    if not isinstance(value, str) or value.strip().lower() not in RATINGS:
        raise BadInput("A rating is either up or down (👍 or 👎).")
    return RATINGS[value.strip().lower()]


def note_text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput("The note is text.")
    text = "".join(c for c in value if unicodedata.category(c)[0] != "C" or c in "\n\t").strip()
    if len(text) > MAX_NOTE:
        raise BadInput(f"A note holds at most {MAX_NOTE} characters; this one has {len(text)}.")
    return text


def checked_id(value) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value.strip().lower()):
        raise BadInput("A picture id is 32 hexadecimal digits (the start of the PNG file's SHA-256).")
    return value.strip().lower()


def wrong_attributes(value, receipt: list[dict] | None) -> list[str]:
    """The attribute names marked wrong: each must be a row of the picture's receipt."""
    if value is None or value == "":
        return []
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise BadInput("Name the wrong attributes as a list of the receipt's attribute names.")
    names = [n.strip() for n in names if n.strip()]
    if len(names) > MAX_WRONG:
        raise BadInput(f"At most {MAX_WRONG} attributes can be marked wrong in one rating.")
    known = [str(row.get("attribute")) for row in receipt or [] if isinstance(row, dict)]
    if not known and names:
        raise BadInput("This picture has no receipt, so no attribute can be marked wrong; rate it without any.")
    if any(n not in known for n in names):
        raise BadInput(f"Only the attributes of this picture's receipt can be marked wrong: {', '.join(known)}.")
    return sorted(set(names), key=names.index)


def rate(store: FeedbackStore, picture_id, rating, note=None, wrong=None, user: str | None = None) -> str:
    """Checks a rating of a picture Atelier made and stores it (replacing an earlier one); the picture's id.
    Nothing is stored unless every value checks out."""
    value, text, pid = rating_value(rating), note_text(note), checked_id(picture_id)
    record = store.picture(pid)
    if record is None:
        raise BadInput(UNKNOWN_PICTURE)
    return store.rate(pid, value, text, wrong_attributes(wrong, record["receipt"]), user)

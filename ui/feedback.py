"""Rating pictures: 👍 / 👎, a short note and (for 👎) the receipt's attributes that were wrong, beside the
gallery, the history strip and the Edit and Style results; and /feedback for the API. A rating names a
picture Atelier made, by its PNG file (an upload, hashed: never a path) or by its id; the checks and the
database are pipelines/feedback's."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from pipelines.feedback.rating import MAX_NOTE, checked_id, rate
from pipelines.feedback.report import report
from pipelines.feedback.store import FeedbackStore, picture_id
from pipelines.judges.receipt import CROSS, TICK
from ui import history
from ui.files import uploaded_picture
from ui.i18n import t
from ui.jobs import handler
from ui.studio import Studio
from zoo.errors import BadInput

MAX_PNG_BYTES = 64 * 2**20
NOT_MADE = "Atelier did not make this picture (or no longer keeps it), so it cannot be rated here."
OFF = "Ratings are turned off on this server."
FEEDBACK = dict(concurrency_id="feedback", concurrency_limit=4, preprocess=False)
PRIVATE = dict(api_visibility="private")


def feedback(
    studio: Studio, picture=None, picture_id=None, rating=None, note=None, wrong=None, request: gr.Request = None
):
    """Rates a picture Atelier made, 👍 or 👎; rating it again replaces the earlier rating.

    Args:
        picture: the picture's PNG file as Atelier gave it (an upload); or leave it empty and give picture_id.
        picture_id: the picture's id: the first 32 hex digits of its PNG file's SHA-256.
        rating: "up" or "down" (or 👍 / 👎).
        note: an optional note, at most 500 characters.
        wrong: the names of the receipt's attributes that were wrong, e.g. ["object1.colour"].
    Returns:
        the id of the rated picture (the key its rating is stored under).
    """
    store = _store(studio)
    return rate(store, _which(store, picture, picture_id), rating, note, wrong, _user(request))


def _store(studio: Studio) -> FeedbackStore:
    if studio.feedback is None:
        raise BadInput(OFF)
    return studio.feedback


def _which(store: FeedbackStore, picture, given_id) -> str:
    """The id of the picture a rating names: a file Atelier made (found by its content), or an id."""
    if picture is not None and given_id not in (None, ""):
        raise BadInput("Give the picture or its id, not both.")
    if picture is None:
        if given_id in (None, ""):
            raise BadInput("Say which picture you rate: send its PNG file or its id.")
        return checked_id(given_id)
    found = id_of_file(uploaded_picture(picture))
    if store.picture(found) is None:
        raise BadInput(NOT_MADE)
    return found


def id_of_file(path: str) -> str:
    with open(path, "rb") as file:
        data = file.read(MAX_PNG_BYTES + 1)
    if len(data) > MAX_PNG_BYTES:
        raise BadInput(NOT_MADE)
    return picture_id(data)


def _user(request) -> str | None:
    """The login name, which exists only when the app runs with --auth."""
    name = getattr(request, "username", None)
    return name[:200] if isinstance(name, str) and name else None


def where(studio: Studio) -> str:
    """The page's one line on where ratings are kept (the place, never the server's path)."""
    if studio.feedback is None:
        return t("ratings_off")
    return t("ratings_sqlite") if studio.feedback.dialect == "sqlite" else t("ratings_database")


def picked(studio: Studio, pid: str | None):
    """The widget's state, heading and attribute choices for a picture (None: nothing to rate)."""
    record = studio.feedback.picture(pid) if pid and studio.feedback else None
    if record is None:
        return None, "", gr.update(choices=[], value=[]), ""
    rows = [row for row in record["receipt"] or [] if isinstance(row, dict)]
    choices = [(f"{r['attribute']}: {r['wanted']} {TICK if r['ok'] else CROSS}", r["attribute"]) for r in rows]
    failed = [r["attribute"] for r in rows if not r["ok"]]
    seed = (record["settings"] or {}).get("seed")
    heading = f"Rating the picture {pid[:8]}…" + (f" (seed {seed})" if seed is not None else "")
    return pid, heading, gr.update(choices=choices, value=failed), ""


def from_file(studio: Studio, file):
    """The picture of a result's PNG file (the Edit and Style tabs)."""
    if studio.feedback is None or not file:
        return picked(studio, None)
    item = file[0] if isinstance(file, list) else file
    return picked(studio, id_of_file(uploaded_picture(item)))


def from_gallery(studio: Studio, files, evt: gr.SelectData):
    """The picture clicked in the gallery, found through the PNG files the same run wrote."""
    files = files if isinstance(files, list) else []
    index = evt.index if isinstance(evt.index, int) and 0 <= evt.index < len(files) else 0
    return from_file(studio, files[index] if files else None)


def from_history(studio: Studio, saved, evt: gr.SelectData):
    """The picture clicked in the history strip (its entry keeps the picture's id)."""
    entries = [e for e in saved if history._valid(e)] if isinstance(saved, list) else []  # as the strip shows them
    entry = entries[evt.index] if isinstance(evt.index, int) and 0 <= evt.index < len(entries) else {}
    try:
        return picked(studio, checked_id(entry.get("id")))
    except BadInput:
        return picked(studio, None)


def rate_picked(studio: Studio, rating: str, pid, note, wrong, request: gr.Request = None) -> str:
    if not pid:
        raise BadInput("Pick a picture first: click one in the pictures or the history, or make one.")
    stored = feedback(studio, None, pid, rating, note, wrong if rating == "down" else [], request)
    return f"Saved {'👍' if rating == 'up' else '👎'} for {stored[:8]}… (rating it again replaces this)."


def widget(studio: Studio) -> SimpleNamespace | None:
    """👍 / 👎, the note and the wrong attributes, for one picture at a time (None when ratings are off)."""
    if studio.feedback is None:
        return None
    w = SimpleNamespace()
    with gr.Group(elem_classes=["rating"]):
        w.picked = gr.State(None)
        w.heading = gr.Markdown(t("rate_pick"), elem_classes=["rate-heading"])
        with gr.Row(equal_height=True):
            w.up = gr.Button(t("rate_up"), size="sm", min_width=80, scale=0, elem_classes=["rate-up"])
            w.down = gr.Button(t("rate_down"), size="sm", min_width=80, scale=0, elem_classes=["rate-down"])
            w.note = gr.Textbox(show_label=False, placeholder=t("rate_note"), max_length=MAX_NOTE, scale=4)
        w.wrong = gr.CheckboxGroup([], label=t("rate_wrong"))
        w.said = gr.Markdown(elem_classes=["rate-said"])
    for button, rating in ((w.up, "up"), (w.down, "down")):
        button.click(handler(_rating(rating), studio), [w.picked, w.note, w.wrong], [w.said], **FEEDBACK, **PRIVATE)
    return w


def _rating(rating: str):
    """rate_picked with its rating fixed, for one button."""

    def bound(studio: Studio, pid, note, wrong, request: gr.Request = None) -> str:
        return rate_picked(studio, rating, pid, note, wrong, request)

    bound.__name__ = f"rate_{rating}"
    return bound


def watch(studio: Studio, w: SimpleNamespace | None, events: list, png: gr.File) -> None:
    """Rate the picture of a result's PNG file once each of `events` has made it. (Chained with .then, not
    png.change: the browser sends a File's change with event data the request guard refuses.)"""
    if w is not None:
        for event in events:
            event.then(handler(from_file, studio), [png], [w.picked, w.heading, w.wrong, w.said], **FEEDBACK, **PRIVATE)


def api(studio: Studio) -> None:
    """/feedback, on components the page does not show."""
    with gr.Column(visible=False):
        inputs = [
            gr.File(label="picture"),
            gr.Textbox(label="picture_id"),
            gr.Textbox(label="rating"),
            gr.Textbox(label="note"),
            gr.JSON(label="wrong"),
        ]
        send, stored = gr.Button(), gr.Textbox(label="picture id")
    send.click(handler(feedback, studio), inputs, [stored], api_name="feedback", **FEEDBACK)


def watch_generate(studio: Studio, c: SimpleNamespace, generating) -> None:
    """The Generate tab: rate the first new picture, the one clicked in the gallery, or a history entry."""
    w = c.rating
    if w is None:
        return
    shows = [w.picked, w.heading, w.wrong, w.said]
    generating.then(handler(from_file, studio), [c.pngs], shows, **FEEDBACK, **PRIVATE)
    c.gallery.select(handler(from_gallery, studio), [c.pngs], shows, **FEEDBACK, **PRIVATE)
    c.history.select(handler(from_history, studio), [c.saved], shows, **FEEDBACK, **PRIVATE)


def plot_data(studio: Studio):
    """The report as two tables for the Zoo tab's plots: share of 👍 per model, blind spots per attribute."""
    import pandas as pd

    result = report(studio.feedback.rated()) if studio.feedback else {"models": [], "attributes": []}
    models = pd.DataFrame(
        [{"model": m["model"], "share of 👍": m["share_up"], "ratings": m["ratings"]} for m in result["models"]],
        columns=["model", "share of 👍", "ratings"],
    )
    kinds = [("share_missed", "receipt ✓, person marked it wrong"), ("share_false_alarms", "receipt ✗, person 👍")]
    spots = pd.DataFrame(
        [
            {"attribute": a["attribute"], "share": a[key] or 0.0, "blind spot": label}
            for a in result["attributes"]
            for key, label in kinds
        ],
        columns=["attribute", "share", "blind spot"],
    )
    return models, spots


def plots(studio: Studio, tab: gr.Tab) -> None:
    """The Zoo tab's view of the ratings (python -m pipelines feedback report has the numbers)."""
    if studio.feedback is None:
        return
    gr.Markdown(t("ratings_plots"))
    with gr.Row():
        models = gr.BarPlot(x="model", y="share of 👍", y_lim=[0, 1], label="Share of 👍 per model")
        spots = gr.BarPlot(x="attribute", y="share", color="blind spot", y_lim=[0, 1], label="The judge's blind spots")
    tab.select(handler(plot_data, studio), outputs=[models, spots], queue=False, **PRIVATE)

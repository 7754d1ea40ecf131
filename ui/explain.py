"""Explain, under Generate: each explained picture's words as chips; choosing one lays its map over the
picture; the receipt's ✗ rows lead to the map of the word they concern. And /explain: a PNG Atelier
made (or a prompt with settings) drawn again with its words and maps."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from pipelines.core import inputs
from pipelines.core.results import GenerateRequest
from pipelines.models.explain import request_from_png
from ui.files import uploaded_picture
from ui.i18n import t
from ui.jobs import DRAWING, handler
from ui.studio import Studio
from zoo.errors import BadInput


def session(request) -> str:
    return str(getattr(request, "session_hash", None) or "api")


def layout(c: SimpleNamespace) -> None:
    """The explain view: the words, the receipt's misses, the picture with the chosen word's map."""
    with gr.Group(visible=True):
        c.words = gr.Radio([], label=t("explain_words"), elem_id="explain-words", interactive=True)
        c.misses = gr.Radio([], label=t("explain_misses"), elem_id="explain-misses", interactive=True)
        c.overlay = gr.Image(
            label=t("explain_overlay"), type="pil", interactive=False, height=256, elem_classes=["pixelated"]
        )
    with gr.Accordion(t("explain_png"), open=False):
        c.explain_png = gr.File(label=t("png_file"), file_types=[".png"], height=90)
        c.explain_button = gr.Button(t("explain_button"), size="sm")
        c.explain_words = gr.JSON(label=t("explain_words"), open=False)
        c.explain_maps = gr.File(label=t("explain_maps"), file_count="multiple")
    c.explained = gr.State(0)  # which picture of the latest run is shown


def view(studio: Studio, index: int, request: gr.Request):
    """The chips, the ✗ rows and the first word's overlay for picture `index` of the session's latest run."""
    found = studio.explanations.get(session(request), index)
    if found is None:
        return index, gr.update(choices=[], value=None), gr.update(choices=[], value=None), None
    chips, misses = found.chips(), found.misses()
    first = misses[0][1] if misses else chips[0][1] if chips else None
    return index, gr.update(choices=chips, value=first), gr.update(choices=misses, value=None), found.overlay(first)


def latest(studio: Studio, request: gr.Request):
    return view(studio, 0, request)


def picked(studio: Studio, event: gr.SelectData, request: gr.Request):
    return view(studio, int(event.index or 0), request)


def overlay(studio: Studio, index: int, word, request: gr.Request):
    found = studio.explanations.get(session(request), int(index or 0))
    return None if found is None or word is None else found.overlay(word)


def explain(
    studio: Studio,
    image=None,
    prompt=None,
    model=None,
    steps=None,
    guidance=None,
    width=None,
    height=None,
    seed=None,
    request: gr.Request = None,
):
    """Draws a picture again with a map per word of its prompt: where the model put each word (DAAM).

    Args:
        image: a PNG Atelier made (it carries its prompt, seed and settings); or leave it empty and give a prompt.
        prompt: the request when no PNG is given (a prompt model may rewrite it first, as in /generate).
        model: a text-to-image model id (default: the PNG's model, else the default model).
        steps: denoising steps (default: the PNG's, else the model's).
        guidance: guidance scale (default: the PNG's, else the model's).
        width: picture width (default: the PNG's, else the model's).
        height: picture height (default: the PNG's, else the model's).
        seed: the seed (default: the PNG's, else a random one).
    Returns: the words [{word, index, map}] (map: the position of the word's map among the files), and the
        files: the picture first, then one grayscale PNG map per word (255: where the word went most).
    """
    if image is not None:
        job = request_from_png(uploaded_picture(image), model or None)
    elif prompt:
        job = GenerateRequest(
            prompt, "", model or None, steps=steps, guidance=guidance, width=width, height=height, seed=seed,
            explain=True,
        )  # fmt: skip
    else:
        raise BadInput("Give a PNG Atelier made, or a prompt, to explain.")
    inputs.prompt(job.prompt)
    result = studio.backend.generate(job)
    studio.explanations.keep(session(request), result)
    picture = result.pictures[0]
    files = studio.downloads.save([picture.image], [picture.parameters], True, [picture.receipt])
    files += studio.downloads.save_plain([w.png() for w in picture.words or []])
    words = [{"word": w.word, "index": w.index, "map": i + 1} for i, w in enumerate(picture.words or [])]
    return words, files


def wire(studio: Studio, c: SimpleNamespace, generating) -> None:
    private = dict(api_visibility="private")
    shown = [c.explained, c.words, c.misses, c.overlay]
    generating.then(handler(latest, studio), outputs=shown, **private)
    c.gallery.select(handler(picked, studio), outputs=shown, **private)
    c.words.change(handler(overlay, studio), inputs=[c.explained, c.words], outputs=[c.overlay], **private)
    c.misses.change(lambda row: gr.update(value=row) if row else gr.skip(), c.misses, c.words, **private)
    c.explain_button.click(
        handler(explain, studio, gpu_seconds=120),
        inputs=[c.explain_png, c.prompt, c.model, c.steps, c.guidance, c.width, c.height, c.seed],
        outputs=[c.explain_words, c.explain_maps],
        api_name="explain",
        **DRAWING,
    ).then(handler(latest, studio), outputs=shown, **private)

"""The Edit tab: change one thing in a picture by instruction, repaint a painted region, or extend the
canvas. Only the changed region is redrawn (pipelines/tasks/edit.py); the rest stays as it was."""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image

from pipelines.core import inputs
from pipelines.tasks import edit as editing
from ui import feedback
from ui.files import uploaded_picture
from ui.i18n import t
from ui.jobs import DRAWING, handler
from ui.studio import Studio
from ui.style import ASSETS
from zoo.errors import BadInput

EXAMPLES = [
    ("two-shapes.png", "make the circle green"),
    ("two-shapes.png", "remove the left one"),
    ("green-triangle-outline.png", "turn the triangle into a square"),
    ("purple-cross-yellow-circle.png", "make the background black"),
]


def edit(
    studio: Studio,
    image,
    instruction=None,
    model=None,
    seed=None,
    steps=None,
    verify=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Changes one thing in a picture ("make the circle blue", "remove the left one", "turn the square
    into a triangle", "make the background black") and keeps the rest.

    Args:
        image: the picture to edit (an upload).
        instruction: what to change, in words.
        model: a text-to-image model id (default: the default model).
        seed: -1 or empty for a random one.
        steps: denoising steps (default: the model's).
        verify: draw this many candidates and keep the first that shows the edited scene (0: one picture).
    Returns:
        the edited picture, the prompt it was drawn from, what was read from the picture, and a PNG file.
    """
    path = uploaded_picture(image)
    progress(0, desc="reading the picture")
    with studio.runs.start(request, "edit", progress, "redrawing") as run:
        result = studio.backend.edit(
            path,
            instruction,
            model_id=model or None,
            seed=seed,
            steps=steps,
            verify=verify or None,
            control=run,
        )
    return _outputs(studio, result)


def repaint(
    studio: Studio,
    painted,
    prompt=None,
    model=None,
    seed=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Redraws the painted part of a picture as the prompt says (the rest stays as it was)."""
    if not isinstance(painted, dict) or painted.get("background") is None:
        raise BadInput("Upload a picture, then paint over the part to redraw.")
    picture = inputs.image(uploaded_picture(painted["background"]))
    mask = np.zeros((picture.height, picture.width), bool)
    for layer in painted.get("layers") or []:
        mask |= painted_pixels(uploaded_picture(layer), picture.size)
    with studio.runs.start(request, "edit", progress, "redrawing") as run:
        result = studio.backend.inpaint(
            picture,
            Image.fromarray(mask),
            prompt,
            model_id=model or None,
            seed=seed,
            control=run,
        )
    return _outputs(studio, result)


def _outputs(studio: Studio, result: editing.Edited):
    """The tab's outputs: the picture (written once, as a PNG), the prompt used, what was read, the PNG."""
    png = studio.downloads.save([result.image], [result.parameters], studio.embed_parameters)[0]
    return png, result.used_prompt, result.read or "", png


def painted_pixels(path: str, size: tuple[int, int]) -> np.ndarray:
    """Where a brush layer of gr.ImageEditor has paint (alpha > 0), at `size`."""
    try:
        with Image.open(path) as layer:
            if layer.width * layer.height > inputs.MAX_IMAGE_PIXELS:
                raise BadInput("The painted layer is too large.")
            return np.asarray(layer.convert("RGBA").resize(size, Image.Resampling.NEAREST))[..., 3] > 0
    except (OSError, ValueError, Image.DecompressionBombError):
        raise BadInput("The painted layer is not a picture Atelier can read.") from None


def extend(
    studio: Studio,
    image,
    side=None,
    prompt=None,
    model=None,
    seed=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Extends the canvas on one side by the model's own picture size, the new part drawn as the prompt says."""
    path = uploaded_picture(image)
    with studio.runs.start(request, "edit", progress, "drawing") as run:
        result = studio.backend.outpaint(
            path,
            side or "right",
            prompt,
            model_id=model or None,
            seed=seed,
            control=run,
        )
    return _outputs(studio, result)


def build(studio: Studio) -> None:
    entry = studio.default("text-to-image")
    with gr.Row():
        with gr.Column():
            # plain labels: they head the examples table, which shows labels untranslated
            image = gr.Image(label="Picture", type="filepath", sources=["upload", "clipboard"])
            instruction = gr.Textbox(label="Instruction", placeholder="make the circle blue", elem_id="instruction")
            edit_button = gr.Button(t("edit"), variant="primary")
            examples = [[str(ASSETS / f), i] for f, i in EXAMPLES if (ASSETS / f).is_file()]
            if examples:
                gr.Examples(examples, inputs=[image, instruction], label=t("example_edits"))
            with gr.Accordion("Settings", open=False):
                model = gr.Dropdown(
                    studio.choices("text-to-image"), value=entry.id if entry else None, label=t("model")
                )
                seed = gr.Number(-1, precision=0, label=t("seed"))
                steps = gr.Number(None, precision=0, label="Steps (empty: the model's)")
                verify = gr.Slider(
                    0,
                    editing.MAX_CANDIDATES,
                    value=0,
                    step=1,
                    label="Verify: candidates to draw until one shows the edit (0: one)",
                )
            with gr.Accordion("Paint a region, or extend the canvas", open=False):
                painted = gr.ImageEditor(
                    label="Paint over what to redraw",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    brush=gr.Brush(colors=["#ff00ff"]),
                )
                region_prompt = gr.Textbox(label="Prompt for the painted region or the new part")
                with gr.Row():
                    repaint_button = gr.Button("Redraw the painted region")
                    side = gr.Dropdown(list(editing.SIDES), value="right", label="Extend to the", scale=1)
                    extend_button = gr.Button("Extend the canvas")
        with gr.Column():
            result = gr.Image(
                label="Result", format="png", type="filepath", interactive=False, elem_classes=["pixelated"]
            )
            used = gr.Textbox(label=t("prompt_used"), interactive=False)
            read = gr.Textbox(label=t("read"), interactive=False)
            png = gr.File(label=t("png_file"))
            rating = feedback.widget(studio)
    outputs, events = [result, used, read, png], []
    for button, fn, given, api_name in [
        (edit_button, edit, [image, instruction, model, seed, steps, verify], "edit"),
        (repaint_button, repaint, [painted, region_prompt, model, seed], "inpaint"),
        (extend_button, extend, [image, side, region_prompt, model, seed], "outpaint"),
    ]:
        drawn = handler(fn, studio, gpu_seconds=60)
        events.append(button.click(drawn, inputs=given, outputs=outputs, api_name=api_name, **DRAWING))
    feedback.watch(studio, rating, events, png)

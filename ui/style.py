"""The Style transfer tab: a picture redrawn in a style, shown before and after."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ui import feedback
from ui.files import uploaded_picture
from ui.i18n import t
from ui.jobs import DRAWING, handler
from ui.studio import Studio

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EXAMPLES = [
    ("two-shapes.png", "outline style"),
    ("green-triangle-outline.png", "flat style"),
    ("purple-cross-yellow-circle.png", "outline style"),
    ("two-shapes.png", "空心"),
]


def stylize(
    studio: Studio,
    image,
    style=None,
    model=None,
    strength=None,
    seed=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Redraws a picture in a style ("outline style", "flat style") with a text-to-image model, keeping
    what it shows.

    Args:
        image: the picture (an upload).
        style: the style in words.
        model: a text-to-image model id (default: the default model).
        strength: how much is redrawn, 0.05 to 1 (default: the model's).
        seed: the seed; -1 or empty for a random one.
    Returns:
        the original and the result (before, after), the prompt used, the caption read from the picture,
        and the result as a PNG file.
    """
    path = uploaded_picture(image)
    progress(0, desc="describing the picture")
    with studio.runs.start(request, "stylize", progress, "redrawing") as run:
        result = studio.backend.stylize(path, style, model_id=model or None, strength=strength, seed=seed, control=run)
    png = studio.downloads.save([result.image], [result.parameters], studio.embed_parameters)[0]
    return (path, png), result.used_prompt, result.caption or "", png


def strength_for(studio: Studio, model):
    entry = studio.registry.entries.get(model) if isinstance(model, str) else None
    return entry.defaults.get("strength", 0.6) if entry is not None else gr.update()


def stop(studio: Studio, request: gr.Request):
    if studio.runs.stop(request, "stylize"):
        gr.Info("Stopping after the current step.")


def example_files() -> list[tuple[str, str]]:
    return [(str(ASSETS / f), s) for f, s in EXAMPLES if (ASSETS / f).is_file()]


def build(studio: Studio) -> None:
    entry = studio.default("text-to-image")
    with gr.Row():
        with gr.Column():
            # plain labels: they head the examples table, which shows labels untranslated
            image = gr.Image(label="Picture", type="filepath", sources=["upload", "clipboard"])
            style = gr.Textbox(label="Style", value="outline style", placeholder="outline style, flat style")
            with gr.Row():
                stylize_button = gr.Button(t("stylize"), variant="primary")
                stop_button = gr.Button(t("stop"), variant="stop")
            if examples := example_files():
                gr.Examples([list(e) for e in examples], inputs=[image, style], label=t("example_pictures"))
            with gr.Accordion("Settings", open=False):
                model = gr.Dropdown(
                    studio.choices("text-to-image"), value=entry.id if entry else None, label=t("model")
                )
                strength = gr.Slider(
                    0.05, 1, step=0.05, label=t("strength"), value=entry.defaults.get("strength", 0.6) if entry else 0.6
                )
                seed = gr.Number(-1, precision=0, label=t("seed"))
        with gr.Column():
            result = gr.ImageSlider(
                label=t("before_after"),
                type="filepath",
                interactive=False,
                elem_classes=["pixelated"],
                elem_id="before-after",
            )
            used = gr.Textbox(label=t("prompt_used"), interactive=False)
            caption = gr.Textbox(label=t("caption"), interactive=False)
            png = gr.File(label=t("png_file"))
            rating = feedback.widget(studio)
    stylizing = stylize_button.click(
        handler(stylize, studio, gpu_seconds=60),
        inputs=[image, style, model, strength, seed],
        outputs=[result, used, caption, png],
        api_name="stylize",
        **DRAWING,
    )
    feedback.watch(studio, rating, [stylizing], png)
    stop_button.click(handler(stop, studio), cancels=[stylizing], concurrency_limit=None, api_visibility="private")
    model.change(
        handler(strength_for, studio), inputs=[model], outputs=[strength], api_visibility="private", queue=False
    )

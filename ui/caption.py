"""The Caption tab: one picture or several, described by a captioning model."""

from __future__ import annotations

import gradio as gr

from ui.files import display_name, uploaded_picture, uploaded_pictures
from ui.i18n import t
from ui.jobs import DESCRIBING, handler
from ui.studio import Studio
from ui.style import example_files


def caption(
    studio: Studio, image, images=None, model=None, request: gr.Request = None, progress=gr.Progress(track_tqdm=True)
):
    """Describes pictures in words with a captioning model.

    Args:
        image: one picture (an upload), or empty.
        images: several pictures (uploads), or empty.
        model: a captioning model id (default: the default model).
    Returns:
        the caption of `image`, and a table of file name and caption for `images`.
    """
    first = [uploaded_picture(image)] if image is not None else []
    rest = uploaded_pictures(images)
    progress(0, desc="describing")
    texts = studio.backend.caption(first + rest, model_id=model or None)
    names = [display_name(f) for f in images or []]
    return (texts[0] if first else ""), [[n, t] for n, t in zip(names, texts[len(first) :])]


def build(studio: Studio) -> None:
    entry = studio.default("captioning")
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=t("picture"), type="filepath", sources=["upload", "clipboard"])
            files = gr.File(label=t("several"), file_count="multiple", file_types=["image"])
            model = gr.Dropdown(studio.choices("captioning"), value=entry.id if entry else None, label=t("model"))
            button = gr.Button(t("caption"), variant="primary")
            if examples := example_files():
                gr.Examples([[path] for path, _ in examples], inputs=[image], label=t("example_pictures"))
        with gr.Column():
            text = gr.Textbox(label=t("caption"), interactive=False)
            table = gr.Dataframe(headers=["file", "caption"], label=t("captions"), interactive=False, wrap=True)
    button.click(
        handler(caption, studio, gpu_seconds=30),
        inputs=[image, files, model],
        outputs=[text, table],
        api_name="caption",
        **DESCRIBING,
    )

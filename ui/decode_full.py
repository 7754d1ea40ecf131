"""'Decode in full' under the pictures: the last fast pictures decoded again by the model's own
autoencoder, from their kept latents (pipelines/models/decode.py), without drawing again."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from pipelines.models import decode
from ui.generate import shown
from ui.jobs import DRAWING, handler
from ui.studio import Studio
from zoo.errors import BadInput

KEY = "kept latents"  # in /generate's parameters: the keys of its fast pictures' latents

NOTHING = "These pictures were decoded in full already; nothing is kept to decode again."


def decode_full(studio: Studio, parameters, embed_parameters=None, progress=gr.Progress()):
    """Decodes the fast pictures of a /generate answer again with the model's own autoencoder.

    Args:
        parameters: the parameters /generate answered with (its third output); its "kept latents" name them.
        embed_parameters: write the prompt and settings into the PNGs (default true).
    Returns: the pictures, the prompt used, the parameters, the PNG files (as /generate).
    """
    keys = parameters.get(KEY) if isinstance(parameters, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > decode.KEPT:
        raise BadInput(NOTHING)
    full = getattr(studio.backend, "decode_full", None)
    if full is None:
        raise BadInput("This backend keeps no latents; draw again with decode set to full.")
    progress(0, desc="decoding in full")
    result = full(keys)
    embed = studio.embed_parameters if embed_parameters is None else bool(embed_parameters)
    return shown(studio, result, embed)


def wire(studio: Studio, c: SimpleNamespace) -> None:
    """The event of the Generate tab's "Decode in full" button (c: that tab's components)."""
    c.decode_full.click(
        handler(decode_full, studio, gpu_seconds=60),
        inputs=[c.parameters, c.embed],
        outputs=[c.gallery, c.rewritten, c.parameters, c.pngs],
        api_name="decode_full",
        **DRAWING,
    )

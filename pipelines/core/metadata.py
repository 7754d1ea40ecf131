"""Generation parameters in PNG files, in the `parameters` text chunk that AUTOMATIC1111's
PNG Info (and the tools that copy it) read:

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 4, Sampler: DDIM, CFG scale: 1.0, Seed: 7, Size: 64x64, Model: starter/shapes-diffusion

and, in a text chunk of its own named `receipt`, the picture's receipt (pipelines/receipt.py) as JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from zoo.errors import BadInput

MAX_PIXELS = 4096 * 4096

KEYS = [
    ("steps", "Steps"),
    ("sampler", "Sampler"),
    ("guidance", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("model", "Model"),
    ("strength", "Denoising strength"),
    ("request", "Request"),
]


def to_text(params: dict) -> str:
    lines = [params["prompt"]]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {params['negative_prompt']}")
    fields = dict(params, size=f"{params['width']}x{params['height']}") if "width" in params else dict(params)
    lines.append(", ".join(f"{label}: {_quote(fields[key])}" for key, label in KEYS if fields.get(key) is not None))
    return "\n".join(lines)


def _quote(value) -> str:
    text = str(value)
    return '"' + text.replace('"', '\\"') + '"' if any(c in text for c in ',:\n"') else text


def from_text(text: str) -> dict:
    """The fields of a `parameters` text, Atelier's or AUTOMATIC1111's: the prompt (one or more lines),
    an optional "Negative prompt:" (one or more lines), then the line of settings that starts with "Steps:"."""
    lines = text.strip("\n").split("\n")
    settings = lines.pop() if lines and re.match(r"^[A-Za-z ]+: ", lines[-1]) and len(lines) > 1 else ""
    negative_at = next((i for i, line in enumerate(lines) if line.startswith("Negative prompt:")), len(lines))
    params: dict[str, Any] = {"prompt": "\n".join(lines[:negative_at]).strip()}
    if negative_at < len(lines):
        negative = "\n".join(lines[negative_at:])[len("Negative prompt:") :]
        params["negative_prompt"] = negative.strip()
    labels = {label: key for key, label in KEYS}
    for label, value in re.findall(r'([A-Za-z][A-Za-z ]*): ("(?:\\.|[^"])*"|[^,]*)(?:, |$)', settings):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        params[labels.get(label.strip(), label.strip())] = value
    if "size" in params:
        w, _, h = str(params.pop("size")).partition("x")
        params["width"], params["height"] = int(w), int(h)
    for key, kind in (("steps", int), ("seed", int), ("guidance", float), ("strength", float)):
        if key in params:
            params[key] = kind(params[key])
    return params


def save_png(image: Image.Image, path: Path, params: dict, receipt: list[dict] | None = None) -> Path:
    """The picture with its `parameters` chunk and, when given, its receipt in a `receipt` chunk (JSON)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", to_text(params))
    if receipt is not None:
        info.add_itxt("receipt", json.dumps(receipt, ensure_ascii=False))
    image.save(path, format="PNG", pnginfo=info)
    return Path(path)


def read_receipt(path: Path) -> list[dict] | None:
    """The receipt a PNG carries (pipelines/receipt.py), or None when it has none."""
    with Image.open(path) as image:
        text = image.info.get("receipt")
    return None if text is None else json.loads(text)


def read_png(path: Path) -> dict:
    with Image.open(path) as image:
        text = image.info.get("parameters")
    if text is None:
        raise ValueError(f"{path} carries no generation parameters")
    return from_text(text)


PNG_INFO_KEYS = ("prompt", "negative_prompt", "steps", "guidance", "seed", "width", "height", "model")
PNG_INFO_OPTIONAL = ("sampler", "request")


def png_info(path) -> dict:
    """The generation settings a PNG carries (Atelier's or AUTOMATIC1111's `parameters` chunk), as
    {prompt, negative_prompt, steps, guidance, seed, width, height, model} plus sampler and request
    where present; a picture without them, or a file that is not a readable PNG, gets a sentence."""
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise BadInput("Settings are read from PNG files; this picture is not one.")
            if image.width * image.height > MAX_PIXELS:
                raise BadInput("The picture is too large to read.")
            image.load()  # text chunks after the pixels are read too
            text = image.info.get("parameters")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        if isinstance(e, BadInput):
            raise
        raise BadInput("That file is not a PNG Atelier can read.") from None
    if not isinstance(text, str) or not text.strip():
        raise BadInput("This PNG carries no generation settings (no `parameters` text).")
    try:
        fields = from_text(text[:20000])
    except ValueError:
        raise BadInput("The PNG's settings text is not in a format Atelier reads.") from None
    info = {key: fields.get(key) for key in PNG_INFO_KEYS}
    info["negative_prompt"] = info["negative_prompt"] or ""
    return info | {key: fields[key] for key in PNG_INFO_OPTIONAL if fields.get(key) is not None}

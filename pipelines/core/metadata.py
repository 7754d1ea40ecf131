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
import string
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from zoo.errors import BadInput

MAX_PIXELS = 4096 * 4096
MAX_TEXT = 64_000  # characters of a `parameters` text read at most (AUTOMATIC1111 writes a few hundred)
MAX_LABEL = 64
LETTERS = frozenset(string.ascii_letters)
LABEL_CHARS = frozenset(string.ascii_letters + string.digits + " -_")

KEYS = [
    ("steps", "Steps"),
    ("sampler", "Sampler"),
    ("guidance", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("model", "Model"),
    ("strength", "Denoising strength"),
    ("request", "Request"),
    ("lora_hashes", "Lora hashes"),
]
# bounded pieces: the time to read a hostile prompt grows with its length, never faster
LORA_TAG = re.compile(r" ?<lora:([^:<>\n]{1,200}):(-?\d{1,6}(?:\.\d{1,6})?)>")


def to_text(params: dict) -> str:
    """The `parameters` text; an adapter is written as AUTOMATIC1111 does: <lora:NAME:SCALE> after the
    prompt and its file's short hash in "Lora hashes"."""
    lines = [params["prompt"]]
    if params.get("lora"):
        lines[0] += f" <lora:{params['lora']}:{float(params['lora_scale']):g}>"
        if params.get("lora_hash"):
            params = dict(params, lora_hashes=f"{params['lora']}: {params['lora_hash']}")
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
    an optional "Negative prompt:" (one or more lines), then the line of settings that starts with "Steps:".
    Read in one pass over the text (no pattern that backtracks); a text over MAX_TEXT characters is refused."""
    if len(text) > MAX_TEXT:
        raise ValueError(f"a parameters text holds at most {MAX_TEXT} characters")
    lines = text.strip("\n").split("\n")
    settings = lines.pop() if len(lines) > 1 and _is_settings_line(lines[-1]) else ""
    negative_at = next((i for i, line in enumerate(lines) if line.startswith("Negative prompt:")), len(lines))
    params: dict[str, Any] = {"prompt": "\n".join(lines[:negative_at]).strip()}
    if negative_at < len(lines):
        negative = "\n".join(lines[negative_at:])[len("Negative prompt:") :]
        params["negative_prompt"] = negative.strip()
    labels = {label: key for key, label in KEYS}
    for label, value in settings_fields(settings):
        params[labels.get(label, label)] = value
    tags = LORA_TAG.findall(params["prompt"])
    if tags:  # the first adapter named (Atelier puts on one at a time)
        params["lora"], params["lora_scale"] = tags[0][0], float(tags[0][1])
        params["prompt"] = LORA_TAG.sub("", params["prompt"]).strip()
    if "size" in params:
        w, _, h = str(params.pop("size")).partition("x")
        params["width"], params["height"] = int(w), int(h)
    for key, kind in (("steps", int), ("seed", int), ("guidance", float), ("strength", float)):
        if key in params:
            params[key] = kind(params[key])
    return params


def _is_label(text: str) -> bool:
    return 0 < len(text) <= MAX_LABEL and text[0] in LETTERS and all(c in LABEL_CHARS for c in text)


def _is_settings_line(line: str) -> bool:
    label, sep, _ = line.partition(": ")
    return bool(sep) and _is_label(label)


def settings_fields(line: str) -> list[tuple[str, str]]:
    """The `Label: value` pairs of a settings line, in order: values end at ", " (or at the closing quote
    of a quoted value, where \\" is a quote); a piece without a label is skipped. Each character is
    looked at a bounded number of times: the time grows with the line's length, never faster."""
    fields, at = [], 0
    while at < len(line):
        colon = line.find(": ", at)
        if colon < 0:
            break
        label = line[at:colon].strip()
        start = colon + 2
        if line.startswith('"', start):
            value, end = _quoted(line, start + 1)
        else:
            end = line.find(",", start)
            end = len(line) if end < 0 else end
            value = line[start:end]
        if _is_label(label):
            fields.append((label, value))
        at = end + 1
        while line.startswith(" ", at):
            at += 1
    return fields


def _quoted(line: str, start: int) -> tuple[str, int]:
    """The text of a quoted value that starts at `start` (after its opening quote), and where it ends."""
    pieces, at = [], start
    while True:
        close = line.find('"', at)
        if close < 0:
            pieces.append(line[at:])
            return "".join(pieces), len(line)
        if close > at and line[close - 1] == "\\":
            pieces.append(line[at : close - 1] + '"')
            at = close + 1
            continue
        pieces.append(line[at:close])
        comma = line.find(",", close)
        return "".join(pieces), len(line) if comma < 0 else comma


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
PNG_INFO_OPTIONAL = ("sampler", "request", "lora", "lora_scale")


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
    if len(text) > MAX_TEXT:
        raise BadInput(f"The PNG's settings text is longer than Atelier reads ({MAX_TEXT:,} characters).")
    try:
        fields = from_text(text)
    except ValueError:
        raise BadInput("The PNG's settings text is not in a format Atelier reads.") from None
    info = {key: fields.get(key) for key in PNG_INFO_KEYS}
    info["negative_prompt"] = info["negative_prompt"] or ""
    return info | {key: fields[key] for key in PNG_INFO_OPTIONAL if fields.get(key) is not None}

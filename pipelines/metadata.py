"""Generation parameters in PNG files, in the `parameters` text chunk that AUTOMATIC1111's
PNG Info (and the tools that copy it) read:

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 4, Sampler: DDIM, CFG scale: 1.0, Seed: 7, Size: 64x64, Model: starter/shapes-diffusion
"""
from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, PngImagePlugin

KEYS = [("steps", "Steps"), ("sampler", "Sampler"), ("guidance", "CFG scale"), ("seed", "Seed"),
        ("size", "Size"), ("model", "Model"), ("strength", "Denoising strength"), ("request", "Request")]


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
    """Inverse of to_text (for the fields it writes)."""
    lines = text.split("\n")
    params = {"prompt": lines[0]}
    rest = lines[1:]
    if rest and rest[0].startswith("Negative prompt: "):
        params["negative_prompt"] = rest.pop(0)[len("Negative prompt: "):]
    labels = {label: key for key, label in KEYS}
    for label, value in re.findall(r'([A-Za-z ]+): ("(?:\\.|[^"])*"|[^,]*)(?:, |$)', rest[-1] if rest else ""):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        params[labels.get(label.strip(), label.strip())] = value
    if "size" in params:
        w, h = params.pop("size").split("x")
        params["width"], params["height"] = int(w), int(h)
    for key, kind in (("steps", int), ("seed", int), ("guidance", float), ("strength", float)):
        if key in params:
            params[key] = kind(params[key])
    return params


def save_png(image: Image.Image, path: Path, params: dict) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", to_text(params))
    image.save(path, format="PNG", pnginfo=info)
    return Path(path)


def read_png(path: Path) -> dict:
    with Image.open(path) as image:
        text = image.info.get("parameters")
    if text is None:
        raise ValueError(f"{path} carries no generation parameters")
    return from_text(text)

"""Server-side checks of everything a request carries: the API can bypass the UI's sliders."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from zoo.errors import BadInput

MAX_PROMPT_CHARS = 1000
MAX_IMAGE_PIXELS = 4096 * 4096  # above this a file is refused (decompression bombs)
MAX_WORKING_SIDE = 1024  # larger pictures are scaled down before any model sees them


def prompt(text, name: str = "prompt", allow_empty: bool = False) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadInput(f"The {name} must be text.")
    text = " ".join(text.split())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no tokenizer can read them
        raise BadInput(f"The {name} holds characters that are not valid text; type it again.") from None
    if not text and not allow_empty:
        raise BadInput(f"The {name} is empty; describe the picture you want.")
    if len(text) > MAX_PROMPT_CHARS:
        raise BadInput(f"The {name} is {len(text)} characters long; keep it under {MAX_PROMPT_CHARS}.")
    return text


def number(value, name: str, low: float, high: float, integer: bool = False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a number between {low:g} and {high:g}.") from None
    if math.isnan(value) or not low <= value <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g}; got {value:g}.")
    if integer:
        if value != int(value):
            raise BadInput(f"{name} must be a whole number; got {value:g}.")
        return int(value)
    return value


MAX_SEED = 2**32 - 1  # the one seed range, everywhere: 0 to MAX_SEED


def seed(value) -> int:
    """The seed asked for; None, "" or -1 draws a random one."""
    if value is None or value == "" or value == -1:
        return random.randrange(MAX_SEED + 1)
    return number(value, "Seed", 0, MAX_SEED, integer=True)


def offset_seed(seed: int, offset: int) -> int:
    """The seed of picture `offset` of a run, still inside the seed range."""
    return (seed + offset) % (MAX_SEED + 1)


def expander_choice(value) -> str:
    """ "auto" (the model's own expander where it needs one), "none", or a prompt-expansion model id."""
    if value is None or value == "" or value == "auto":
        return "auto"
    if not isinstance(value, str):
        raise BadInput("'Expand with' must be 'auto', 'none' or a prompt-expansion model id.")
    return value


def image(source) -> Image.Image:
    """Any picture a person may hand in (path, PIL image or array) as an upright 8-bit RGB image.

    EXIF rotation is applied; CMYK, palette, 16-bit and alpha pictures are converted (alpha over
    white); decompression bombs and non-pictures are refused with one sentence.
    """
    if source is None:
        raise BadInput("No picture was given; upload one.")
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise BadInput(f"There is no picture file at {str(source)[:200]}.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        picture: Image.Image
        try:
            if isinstance(source, (str, Path)):
                picture = Image.open(source)
                _check_pixels(picture)
                picture.load()
            elif isinstance(source, Image.Image):
                picture = source
                _check_pixels(picture)
            else:
                import numpy as np

                picture = Image.fromarray(np.asarray(source))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise BadInput(
                f"The picture is too large; send one under {MAX_IMAGE_PIXELS // 10**6} megapixels."
            ) from None
        except (UnidentifiedImageError, OSError, TypeError, ValueError, SyntaxError):
            raise BadInput("That file is not a picture Atelier can read; send a PNG, JPEG or WebP.") from None
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        picture = picture.point(lambda v: v / 256).convert("L")
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        picture = picture.convert("RGBA")
        white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, picture)
    picture = picture.convert("RGB")
    if max(picture.size) > MAX_WORKING_SIDE:
        picture.thumbnail((MAX_WORKING_SIDE, MAX_WORKING_SIDE), Image.Resampling.LANCZOS)
    return picture


def _check_pixels(picture: Image.Image) -> None:
    if picture.width * picture.height > MAX_IMAGE_PIXELS:
        raise Image.DecompressionBombError("too many pixels")

"""Files in and out. A request may name a file only by uploading it: every path is checked against
this app's Gradio upload folder, and every refusal reads the same, so an answer never tells what
lies on the server. Results are written once, as PNGs that carry their parameters (unless asked not to)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

from pipelines.core import metadata
from zoo.errors import BadInput

NOT_UPLOADED = "Atelier only opens pictures uploaded to it; upload the picture and try again."


def upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def uploaded_picture(payload) -> str:
    """The server path of a picture this app received as an upload (the raw value of a gr.Image or
    one item of a gr.File): a regular file inside the upload folder once symlinks are followed."""
    if payload is None:
        raise BadInput("No picture was given; upload one.")
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    if not isinstance(path, str) or not path or "\0" in path or len(path) > 4096:
        raise BadInput(NOT_UPLOADED)
    try:
        resolved = Path(os.path.realpath(path))
        inside = resolved.is_relative_to(upload_folder()) and resolved.is_file()
    except (OSError, ValueError):
        inside = False
    if not inside:
        raise BadInput(NOT_UPLOADED)
    return str(resolved)


def uploaded_pictures(payload) -> list[str]:
    if payload is None:
        return []
    if not isinstance(payload, list):
        raise BadInput("Send the pictures as a list of uploaded files.")
    return [uploaded_picture(item) for item in payload]


def display_name(payload) -> str:
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    return Path(str(name or uploaded_picture(payload))).name[:120]


class Downloads:
    """The PNGs of this app's results, written once each, in its own temp folder; kept `keep_seconds`."""

    def __init__(self, keep_seconds: float = 24 * 3600):
        self.root = Path(tempfile.mkdtemp(prefix="atelier-"))
        self.keep_seconds = keep_seconds
        self.on_write = None  # called with (paths, parameters, receipts) after each save: ratings record them
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def save(self, images, parameters: list[dict], embed: bool = True, receipts: list | None = None) -> list[str]:
        """One PNG per picture; with `embed`, carrying its parameters (and its receipt, when given)."""
        self._prune()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        paths = []
        for i, (image, params) in enumerate(zip(images, parameters)):
            path = folder / f"atelier-{i:02d}-seed{params.get('seed')}.png"
            if embed:
                metadata.save_png(image, path, params, receipt=receipts[i] if receipts else None)
            else:
                image.save(path, format="PNG")
            paths.append(str(path))
        if self.on_write is not None:
            self.on_write(paths, parameters, receipts)
        return paths

    def save_plain(self, images) -> list[str]:
        """Pictures that carry nothing but their pixels (a word's map), one PNG each."""
        self._prune()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        paths = [str(folder / f"map-{i:03d}.png") for i in range(len(images))]
        for image, path in zip(images, paths):
            image.save(path, format="PNG")
        return paths

    def _prune(self) -> None:
        for old in self.root.iterdir():
            if time.time() - old.stat().st_mtime > self.keep_seconds:
                shutil.rmtree(old, ignore_errors=True)

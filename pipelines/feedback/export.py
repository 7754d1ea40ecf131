"""Rated pictures out as an imagefolder (pictures + metadata.jsonl rows with `file_name` and `text`, the
prompt used), the form `python -m training prepare` and `lora` read: people's choices back into a model.

Pictures with the same pixels as one already written, or nearly (no 4 x 4 cell of a 64 x 64 picture, 1/16
of its side in general, differs by more than 32 levels), are left out and counted: `training prepare` calls
a picture a near duplicate only when this holds (and its perceptual hash is close too), so it has nothing
to drop."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from pipelines.feedback.store import FeedbackStore
from zoo.errors import BadInput

CELLS = 16  # cells per side of the thumbnail compared
NEAR_LEVELS = 32  # as training/prepare.py's near-duplicate test


@dataclass
class Exported:
    written: int = 0
    duplicates: list[str] = field(default_factory=list)  # picture ids left out


def export(store: FeedbackStore, out: Path, rating: str | None = "up") -> Exported:
    """Writes the pictures rated `rating` (None: every rated one) into `out` as an imagefolder."""
    if (out / "metadata.jsonl").exists():
        raise BadInput(f"{out} already holds an export (metadata.jsonl); give a new or empty folder.")
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} is a file; give a folder (it is made if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"{out} cannot be made ({e.strerror}); give a folder that can be written.") from None
    done, seen = Exported(), _Seen()
    with open(out / "metadata.jsonl", "w", encoding="utf-8") as metadata:
        for rated, png in tqdm(list(store.pictures_rated(rating)), desc="export", unit="picture"):
            with Image.open(io.BytesIO(png)) as image:
                rgb = np.asarray(image.convert("RGB"))
            if seen.repeats(rgb):
                done.duplicates.append(rated.picture_id)
                continue
            name = f"{rated.picture_id}.png"
            (out / name).write_bytes(png)
            row = {
                "file_name": name,
                "text": rated.prompt,
                "request": rated.request,
                "model": rated.model,
                "rating": rated.rating,
            }
            metadata.write(json.dumps(row, ensure_ascii=False) + "\n")
            done.written += 1
    return done


class _Seen:
    def __init__(self) -> None:
        self.thumbnails: list[np.ndarray] = []

    def repeats(self, rgb: np.ndarray) -> bool:
        """Whether `rgb` has the same (or nearly the same) pixels as a picture seen before; else remembers it."""
        thumbnail = np.asarray(Image.fromarray(rgb).resize((CELLS, CELLS), Image.Resampling.BOX), np.int16)
        if any(int(np.abs(thumbnail - seen).max()) <= NEAR_LEVELS for seen in self.thumbnails):
            return True
        self.thumbnails.append(thumbnail)
        return False

"""Rated pictures out as an imagefolder (pictures + metadata.jsonl rows with `file_name` and `text`, the
prompt used), the form `python -m training prepare` and `lora` read: people's choices back into a model.

Pictures with the same pixels as one already written (or nearly: the same test `training prepare` applies)
are left out and counted, so that prepare has nothing to drop."""

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

HASH_SIDE = 16
NEAR_BITS = 40  # as training/prepare.py: a near duplicate differs in at most this many of 768 hash bits...
NEAR_LEVELS = 32  # ...and in no 16 x 16 cell by more than this many levels


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
        self.pictures: list[tuple[bytes, np.ndarray, np.ndarray]] = []

    def repeats(self, rgb: np.ndarray) -> bool:
        """Whether `rgb` has the same (or nearly the same) pixels as a picture seen before; else remembers it."""
        raw, bits, cells = rgb.tobytes(), _dhash(rgb), _cells(rgb)
        for other_raw, other_bits, other_cells in self.pictures:
            near = (
                int((bits != other_bits).sum()) <= NEAR_BITS and int(np.abs(cells - other_cells).max()) <= NEAR_LEVELS
            )
            if raw == other_raw or near:
                return True
        self.pictures.append((raw, bits, cells))
        return False


def _dhash(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(Image.fromarray(rgb).resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX), np.int16)
    return (a[:, 1:, :] > a[:, :-1, :]).ravel()


def _cells(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX), np.int16)

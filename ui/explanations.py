"""The word maps of each browser session's latest explained pictures, kept on the server (never sent
back and forth), and the overlay of one word's map on its picture."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipelines.core.results import Generation, Picture
from pipelines.judges.receipt import CROSS, receipt_text
from pipelines.models.explain import word_for_row

HEAT = np.array([255, 48, 0], np.float32)  # the colour a word's map is laid on in


@dataclass
class Explained:
    image: Image.Image
    words: list  # WordMap per word
    receipt: list[dict] | None

    def chips(self) -> list[tuple[str, str]]:
        """(label, value) per word: the value is its index, so a repeated word keeps its own map."""
        return [(w.word, str(w.index)) for w in self.words]

    def misses(self) -> list[tuple[str, str]]:
        """The receipt's ✗ rows that concern a word of the prompt: (the row as text, that word's index)."""
        rows = []
        for row in self.receipt or []:
            index = word_for_row(row, self.words) if not row["ok"] else None
            if index is not None:
                rows.append((f"{CROSS} {receipt_text([row])}", str(index)))
        return rows

    def overlay(self, index) -> Image.Image:
        """The picture with the map of word `index` laid over it (the map's hottest pixels in full colour)."""
        word = next((w for w in self.words if str(w.index) == str(index)), None)
        picture = np.asarray(self.image.convert("RGB"), np.float32)
        if word is None:
            return self.image
        heat = word.map[..., None] * 0.75
        return Image.fromarray((picture * (1 - heat) + HEAT * heat).round().astype(np.uint8))


class Explanations:
    """Per session, the explained pictures of its latest run (at most `sessions` sessions kept)."""

    def __init__(self, sessions: int = 256):
        self.sessions = sessions
        self._kept: OrderedDict[str, list[Explained]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, session: str, result: Generation) -> None:
        pictures = [explained(p) for p in result.pictures if p.words]
        if not pictures:
            return
        with self._lock:
            self._kept[session] = pictures
            self._kept.move_to_end(session)
            while len(self._kept) > self.sessions:
                self._kept.popitem(last=False)

    def get(self, session: str, index: int = 0) -> Explained | None:
        with self._lock:
            pictures = self._kept.get(session) or []
        return pictures[index] if 0 <= index < len(pictures) else None


def explained(picture: Picture) -> Explained:
    return Explained(picture.image, picture.words or [], picture.receipt)

"""Explanations as files: the picture, one grayscale PNG per word (255: the word's hottest pixel) and
words.jsonl rows {"prompt", "image", "word", "index", "map"} with paths relative to the folder.
`prompt` is the prompt the picture was drawn from (the words and their indexes are its own); `request`
is added when a prompt model rewrote the text given."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.core.metadata import save_png
from pipelines.core.results import Generation
from pipelines.models.word_maps import WordMap


def map_rows(out: Path, prompt: str, image_name: str, words: list[WordMap]) -> list[dict]:
    """Writes each word's map beside the picture; the words.jsonl rows."""
    rows, stem = [], Path(image_name).stem
    for w in words:
        name = f"{stem}-{w.index:03d}-{w.word}.png" if w.word.isascii() else f"{stem}-{w.index:03d}.png"
        w.png().save(out / name)
        rows.append({"prompt": prompt, "image": image_name, "word": w.word, "index": w.index, "map": name})
    return rows


def write_explained(out: Path, result: Generation, request: str, stem: str, lines) -> None:
    """The result's pictures (with their settings and receipts) and maps, rows appended to `lines`."""
    for k, picture in enumerate(result.pictures):
        name = f"{stem}.png" if len(result.pictures) == 1 else f"{stem}-{k}.png"
        save_png(picture.image, out / name, picture.parameters, receipt=picture.receipt)
        extra = {"request": request} if request != result.used_prompt else {}
        for row in map_rows(out, result.used_prompt, name, picture.words or []):
            lines.write(json.dumps(row | extra, ensure_ascii=False) + "\n")
    lines.flush()

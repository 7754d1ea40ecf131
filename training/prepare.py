"""python -m training prepare: turns a folder of pictures (with or without captions) into a clean imagefolder.

Every input file lands in exactly one list of CLEAN/report.json: "kept" (copied as it was, as PNG),
"repaired" (converted, rotated, resized, re-read after truncation, or captioned) or "dropped" (unreadable,
too small, a duplicate, a link, not a picture); rows of metadata.jsonl that name no file are "dropped" too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from training.loop import TrainingError

PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
HASH_SIDE = 16  # dHash of 16 x 16 differences per colour channel, rising and falling: 1536 bits
NEAR_BITS = 40  # at most this many of the 1536 bits differ for a near duplicate...
NEAR_LEVELS = 32  # ...and no 4 x 4 cell of the picture differs by more than this many levels


@dataclass
class Item:
    """One input picture on its way through: where it came from, its caption and what was done to it."""

    file: str
    text: str | None
    fixes: list[str] = field(default_factory=list)
    image: Image.Image | None = None


def dhash(rgb: np.ndarray) -> np.ndarray:
    """Difference hash per colour channel (a grey hash would call a red and an orange shape the same)."""
    picture = Image.fromarray(rgb).resize((HASH_SIDE + 1, HASH_SIDE), Image.BOX)
    step = np.diff(np.asarray(picture, np.int16), axis=1)
    # a dead zone of 8 levels: flat areas (most of a synthetic picture) give no bits for noise to flip
    return np.concatenate([(step > 8).ravel(), (step < -8).ravel()])


def cells(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((HASH_SIDE, HASH_SIDE), Image.BOX), np.int16)


class Duplicates:
    """Finds exact and near duplicates of pictures seen before: the perceptual hash picks candidates,
    the 4 x 4-cell colour thumbnails confirm (so two shapes that differ in a corner are not one picture)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, np.ndarray, np.ndarray]] = []

    def of(self, file: str, rgb: np.ndarray) -> str | None:
        raw, bits, thumb = rgb.tobytes(), dhash(rgb), cells(rgb)
        for other, other_raw, other_bits, other_thumb in self.seen:
            if raw == other_raw:
                return f"a duplicate of {other} (the same pixels)"
            close = int((bits != other_bits).sum()) <= NEAR_BITS
            if close and int(np.abs(thumb - other_thumb).max()) <= NEAR_LEVELS:
                return f"a near duplicate of {other} (perceptual hash)"
        self.seen.append((file, raw, bits, thumb))
        return None


def read_rows(raw: Path, report: dict) -> dict[str, str]:
    """file_name -> text from metadata.jsonl (empty without one); unreadable rows are reported."""
    metadata = raw / "metadata.jsonl"
    if not metadata.is_file():
        return {}
    rows: dict[str, str] = {}
    try:
        lines = metadata.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise TrainingError(f"{metadata} is not UTF-8 text; write one JSON object per line.") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name = row["file_name"]
            assert isinstance(name, str) and name
        except (json.JSONDecodeError, KeyError, TypeError, AssertionError):
            report["dropped"].append({"file": f"metadata.jsonl line {number}", "reason": "not a row with a file_name"})
            continue
        text = row.get("text")
        rows[name] = text.strip() if isinstance(text, str) else ""
    return rows


def open_picture(path: Path, item: Item) -> Image.Image | str:
    """The picture, or the reason it cannot be had. A truncated file Pillow can still read is repaired."""
    try:
        with Image.open(path) as image:
            image.load()
            return _bit_depth(image, item)
    except UnidentifiedImageError:
        return "broken picture file: Pillow cannot read it (not a picture it knows)"
    except (OSError, SyntaxError, ValueError) as first:
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            with Image.open(path) as image:
                image.load()
                item.fixes.append(f"truncated or damaged file ({first}): the part Pillow could read was kept")
                return _bit_depth(image, item)
        except Exception as e:  # a file that is past repair, whatever the decoder says
            return f"broken file that Pillow cannot read ({type(e).__name__})"
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False


def _bit_depth(image: Image.Image, item: Item) -> Image.Image:
    """16-bit and 32-bit pictures scaled to 8 bits (Pillow's convert would clip them at 255, not scale)."""
    rawmode = image.tile[0][3] if image.tile and isinstance(image.tile[0][3], str) else ""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(image, np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        item.fixes.append(f"{image.mode} ({'16' if top > 255 else '32'}-bit) scaled to 8-bit RGB")
        return Image.fromarray(np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if ";16" in rawmode or ";48" in rawmode or ";64" in rawmode:
        item.fixes.append("16 bits per channel reduced to 8")
    return image.copy()


def normalise(image: Image.Image, item: Item, side: int) -> Image.Image | str:
    """Upright, RGB, side x side: the picture the model trains on, or why it cannot be one."""
    orientation = image.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        image = ImageOps.exif_transpose(image)
        item.fixes.append(f"EXIF orientation {orientation} applied")
    if image.mode != "RGB":
        item.fixes.append(_mode_fix(image))
        if image.mode == "P" or image.mode.endswith("A"):
            image = image.convert("RGBA").convert("RGB")  # the colours the file stores, alpha dropped
        else:
            image = image.convert("RGB")
    w, h = image.size
    if min(w, h) < side:
        return f"too small: {w} x {h} pixels, the model draws {side} x {side}"
    if (w, h) != (side, side):
        crop = min(w, h)
        left, top = (w - crop) // 2, (h - crop) // 2
        image = image.crop((left, top, left + crop, top + crop)).resize((side, side), Image.LANCZOS)
        item.fixes.append(f"{w} x {h} {'centre-cropped and ' if w != h else ''}resized to {side} x {side}")
    return image


def _mode_fix(image: Image.Image) -> str:
    if image.mode == "P":
        alpha = "transparency" in image.info
        return f"palette picture{' with transparency' if alpha else ''} converted to RGB"
    return f"{image.mode} picture converted to RGB" + (" (alpha dropped)" if image.mode.endswith("A") else "")


def pictures_in(raw: Path) -> list[Path]:
    return sorted(p for p in raw.rglob("*") if p.name != "metadata.jsonl" and (p.is_file() or p.is_symlink()))


def prepare(raw: Path, out: Path, side: int = 64, captioner=None) -> dict:
    """Cleans RAW into OUT (an imagefolder) and returns the report it writes to OUT/report.json.
    `captioner(pictures) -> captions` writes the missing captions (None: such pictures are dropped)."""
    if not raw.is_dir():
        raise TrainingError(f"--data {raw} is not a folder; give a folder of pictures (with metadata.jsonl or not).")
    if out.resolve() == raw.resolve() or out.resolve().is_relative_to(raw.resolve()):
        raise TrainingError(f"--out {out} lies inside --data; give a folder outside it, so RAW stays as it was.")
    report: dict[str, list] = {"kept": [], "repaired": [], "dropped": []}
    rows = read_rows(raw, report)
    has_rows = (raw / "metadata.jsonl").is_file()
    files = {p.relative_to(raw).as_posix(): p for p in pictures_in(raw)}
    # rows' order first: of two copies, the one the captions list first is the original
    found = {name: files[name] for name in rows if name in files} | files
    for name in rows:
        if name not in found:
            report["dropped"].append({"file": name, "reason": "metadata.jsonl names it, but there is no such file"})
    items, duplicates = [], Duplicates()
    for name, path in found.items():
        item = Item(name, rows.get(name))
        why = _load(path, item, side, duplicates)
        if why:
            report["dropped"].append({"file": name, "reason": why})
            continue
        if has_rows and name not in rows:
            item.fixes.append("no row of metadata.jsonl named it")
        items.append(item)
    _caption(items, captioner, report)
    _write(items, out, report)
    return report


def _load(path: Path, item: Item, side: int, duplicates: Duplicates) -> str | None:
    """Reads and normalises one file into item.image; returns why it is dropped, or None."""
    if path.is_symlink():
        return "a link, not a file: links are not followed"
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        return f"not a picture (a {path.suffix or 'suffix-less'} file)"
    image = open_picture(path, item)
    if isinstance(image, str):
        return image
    image = normalise(image, item, side)
    if isinstance(image, str):
        return image
    repeated = duplicates.of(item.file, np.asarray(image))
    if repeated:
        return repeated
    item.image = image
    return None


def _caption(items: list[Item], captioner, report: dict) -> None:
    missing = [i for i in items if not i.text]
    if not missing:
        return
    if captioner is None:
        for item in missing:
            report["dropped"].append({"file": item.file, "reason": "no caption, and no captioner to write one"})
        items[:] = [i for i in items if i.text]
        return
    for item, text in zip(missing, captioner([i.image for i in missing]), strict=True):
        item.text = text
        item.fixes.insert(0, "captioned")


def _write(items: list[Item], out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows, used = [], set()
    for item in items:
        stem = Path(item.file).with_suffix("").as_posix().replace("/", "__")
        name = f"{stem}.png"
        while name in used:  # a.jpg and a.png both become a.png otherwise
            stem += "_"
            name = f"{stem}.png"
        used.add(name)
        assert item.image is not None
        item.image.save(out / name)
        rows.append({"file_name": name, "text": item.text})
        entry = {"file": item.file, "reason": "; ".join(item.fixes) or "clean", "output": name}
        if "captioned" in item.fixes:
            entry["caption"] = item.text
        report["repaired" if item.fixes else "kept"].append(entry)
    (out / "metadata.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def registry_captioner(model_id: str | None, base: str | None):
    """Captions with `model_id`, else the base model's captioner, else the registry's default one."""
    from pipelines.tasks.caption import caption
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    cache = ModelCache(load_registry(), device="cpu")
    if not model_id and base:
        model_id = cache.registry.pick(base, "text-to-image").captioner
    chosen = cache.registry.pick(model_id, "captioning").id

    def captioner(pictures: list[Image.Image]) -> list[str]:
        out = []
        for start in range(0, len(pictures), 32):
            out += caption(cache, pictures[start : start + 32], chosen)
        return out

    captioner.model_id = chosen  # type: ignore[attr-defined]
    return captioner


def base_side(base: str | None) -> int:
    """The side the base model draws by default (its registry width), 64 for the starter."""
    from zoo.registry import load_registry

    registry = load_registry()
    entry = registry.pick(base, "text-to-image")
    return int(entry.defaults.get("width", 512))

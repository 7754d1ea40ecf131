"""What the Train tab accepts: pictures (and a metadata.jsonl of captions), sent as files or as one zip.

Everything is checked before a byte is unpacked: no entry may climb out of the folder ("../", absolute
paths, drive letters), links and special files are refused, the entries and bytes are counted against the
limits, and a zip that promises far more than it weighs (a zip bomb) is refused; every picture must open as
one. Each refusal is one sentence that names the file, never a path on the server.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from PIL import Image

from zoo.errors import BadInput

MAX_FILES = 500
MAX_BYTES = 200 * 2**20  # unpacked, all files together
MAX_RATIO = 100  # a zip entry may unpack to at most this many times its packed size
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
CAPTIONS = "metadata.jsonl"


def safe_name(name: str) -> str:
    """A relative POSIX name inside the folder, or a sentence."""
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if not parts or clean.startswith("/") or ":" in parts[0] or any(p in ("..", "") for p in parts):
        raise BadInput(f"'{name[:80]}' would land outside the upload's folder; send files with plain names.")
    return "/".join(parts)


def check_picture(path: Path, name: str) -> None:
    if name.rsplit("/", 1)[-1] == CAPTIONS:
        return
    if Path(name).suffix.lower() not in PICTURE_SUFFIXES:
        raise BadInput(
            f"'{name[:80]}' is not a picture; send PNG, JPEG, WebP, BMP, GIF or TIFF files (and a {CAPTIONS})."
        )
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - whatever Pillow raises, the answer is the same sentence
        raise BadInput(f"'{name[:80]}' does not open as a picture; send it again or leave it out.") from None


def unpack(uploads: list[tuple[Path, str]], folder: Path) -> int:
    """Copies the uploaded (server path, name as sent) files into `folder`, unpacking one zip; returns
    how many files it holds. Raises BadInput, leaving nothing behind, when anything is refused."""
    if not uploads:
        raise BadInput("Upload some pictures (several files, or one zip) first.")
    zips = [u for u in uploads if u[1].lower().endswith(".zip")]
    if zips and len(uploads) > 1:
        raise BadInput("Send either one zip or several pictures, not both.")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        count = _unzip(zips[0][0], folder) if zips else _copy(uploads, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return count


def _copy(uploads: list[tuple[Path, str]], folder: Path) -> int:
    if len(uploads) > MAX_FILES:
        raise BadInput(f"That is {len(uploads)} files; send at most {MAX_FILES}.")
    if sum(path.stat().st_size for path, _ in uploads) > MAX_BYTES:
        raise BadInput(f"The files come to more than {MAX_BYTES // 2**20} MB; send fewer or smaller pictures.")
    for path, sent in uploads:
        name = safe_name(Path(sent).name)
        check_picture(path, name)
        shutil.copyfile(path, folder / name)
    return len(uploads)


def _unzip(path: Path, folder: Path) -> int:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise BadInput("The zip cannot be read; pack it again and send it.") from None
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > MAX_FILES:
            raise BadInput(f"The zip holds {len(entries)} files; send at most {MAX_FILES}.")
        if sum(e.file_size for e in entries) > MAX_BYTES:
            raise BadInput(f"The zip unpacks to more than {MAX_BYTES // 2**20} MB; send fewer or smaller pictures.")
        for entry in entries:
            _check_entry(entry)
        for entry in entries:
            target = folder / safe_name(entry.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry) as source, open(target, "wb") as out:
                shutil.copyfileobj(_Limited(source, entry.file_size), out)
            check_picture(target, safe_name(entry.filename))
    return len(entries)


def _check_entry(entry: zipfile.ZipInfo) -> None:
    name = safe_name(entry.filename)
    kind = stat.S_IFMT(entry.external_attr >> 16)
    if kind and kind != stat.S_IFREG:
        what = "a link" if kind == stat.S_IFLNK else "not a regular file"
        raise BadInput(f"'{name[:80]}' in the zip is {what}; send the pictures themselves.")
    if entry.file_size > MAX_RATIO * max(entry.compress_size, 1) and entry.file_size > 2**20:
        raise BadInput(
            f"'{name[:80]}' in the zip unpacks to {entry.file_size // 2**20} MB from almost nothing: "
            "that is a zip bomb, not pictures."
        )


class _Limited:
    """Reads at most the size the zip declared: an entry that lies about its size stops there."""

    def __init__(self, source, size: int):
        self.source, self.left = source, size

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            if self.source.read(1):
                raise BadInput("An entry of the zip holds more than it declares; that zip is refused.")
            return b""
        data = self.source.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data

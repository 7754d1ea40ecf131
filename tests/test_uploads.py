"""Which paths count as this app's uploads, checked in a fresh upload folder of the test's own (so no
link or file left by an earlier run can make a check pass)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ui.files import NOT_UPLOADED, upload_folder, uploaded_picture
from zoo.errors import BadInput

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "two-shapes.png"


@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    """A fresh, empty Gradio upload folder for this test alone."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    assert upload_folder() == folder.resolve()
    return folder


def refused(payload) -> bool:
    try:
        uploaded_picture(payload)
    except BadInput as e:
        assert str(e) in (NOT_UPLOADED, "No picture was given; upload one.")
        return True
    return False


def test_a_link_inside_the_upload_folder_to_a_file_outside_is_refused(uploads, tmp_path):
    secret = tmp_path / "secret.png"
    shutil.copy(PICTURE, secret)
    (uploads / "a").mkdir()
    link = uploads / "a" / "link.png"
    link.symlink_to(secret)
    assert link.is_file()  # the link works: only the check stands between it and the secret
    assert refused({"path": str(link)})
    folder_link = uploads / "b"
    folder_link.symlink_to(tmp_path)  # a linked folder: a path through it leaves the upload folder
    assert refused({"path": str(folder_link / "secret.png")})


def test_files_inside_the_upload_folder_are_taken_and_nothing_else(uploads, tmp_path):
    (uploads / "a").mkdir()
    inside = uploads / "a" / "ok.png"
    shutil.copy(PICTURE, inside)
    assert uploaded_picture({"path": str(inside)}) == str(inside.resolve())
    link = uploads / "a" / "link-inside.png"  # a link that stays inside is an upload like any other
    link.symlink_to(inside)
    assert uploaded_picture({"path": str(link)}) == str(inside.resolve())
    outside = tmp_path / "outside.png"
    shutil.copy(PICTURE, outside)
    for payload in [
        {"path": str(outside)},
        {"path": f"{uploads}/a/../../outside.png"},
        {"path": str(uploads)},  # the folder itself
        {"path": str(uploads / "a")},
        {"path": str(uploads / "a" / "missing.png")},
        {"path": str(uploads) + "-sibling/x.png"},  # a name that merely starts like the folder
        None,
    ]:
        assert refused(payload), payload
    sibling = Path(str(uploads) + "-sibling")
    sibling.mkdir()
    shutil.copy(PICTURE, sibling / "x.png")
    assert refused({"path": str(sibling / "x.png")})

"""The Train tab's uploads: the five bad kinds are refused with sentences and leave nothing behind; good
pictures (files or one zip) are taken; only one training runs per server."""

import io
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from pipelines.core import training_upload
from pipelines.core.training_upload import unpack
from zoo.errors import BadInput


def png_bytes(colour=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return out.getvalue()


def make_zip(path: Path, entries: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def refused(tmp_path: Path, uploads, match: str) -> None:
    with pytest.raises(BadInput, match=match):
        unpack(uploads, tmp_path / "raw")
    assert not (tmp_path / "raw").exists(), "nothing is left behind"


def test_good_pictures_and_a_good_zip_are_taken(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    (tmp_path / "m.jsonl").write_text('{"file_name": "a.png", "text": "red"}\n')
    assert unpack([(tmp_path / "a.png", "a.png"), (tmp_path / "m.jsonl", "metadata.jsonl")], tmp_path / "one") == 2
    assert (tmp_path / "one" / "metadata.jsonl").is_file()
    good = make_zip(tmp_path / "g.zip", {"pics/a.png": png_bytes(), "metadata.jsonl": b"{}\n"})
    assert unpack([(good, "pictures.zip")], tmp_path / "two") == 2
    assert (tmp_path / "two" / "pics" / "a.png").is_file()


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = make_zip(tmp_path / "b.zip", {"a.png": b"\0" * (30 * 2**20)})
    refused(tmp_path, [(bomb, "b.zip")], "zip bomb")


def test_entries_that_climb_out_are_refused(tmp_path):
    for name in ("../evil.png", "pics/../../evil.png", "/etc/evil.png", "C:/evil.png"):
        climbing = make_zip(tmp_path / "c.zip", {"a.png": png_bytes(), name: png_bytes()})
        refused(tmp_path, [(climbing, "c.zip")], "outside the upload's folder")
    assert not (tmp_path.parent / "evil.png").exists()


def test_links_are_refused(tmp_path):
    linking = make_zip(tmp_path / "l.zip", {"a.png": png_bytes()}, links=("b.png",))
    refused(tmp_path, [(linking, "l.zip")], "is a link")


def test_files_that_are_not_pictures_are_refused(tmp_path):
    (tmp_path / "x.sh").write_text("rm -rf /")
    refused(tmp_path, [(tmp_path / "x.sh", "x.sh")], "'x.sh' is not a picture")
    (tmp_path / "fake.png").write_text("not really")
    refused(tmp_path, [(tmp_path / "fake.png", "fake.png")], "does not open as a picture")
    fake = make_zip(tmp_path / "f.zip", {"a.png": png_bytes(), "b.png": b"nope"})
    refused(tmp_path, [(fake, "f.zip")], "'b.png' does not open as a picture")


def test_too_many_files_or_bytes_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(training_upload, "MAX_FILES", 3)
    many = make_zip(tmp_path / "m.zip", {f"{i}.png": png_bytes() for i in range(4)})
    refused(tmp_path, [(many, "m.zip")], "holds 4 files; send at most 3")
    (tmp_path / "a.png").write_bytes(png_bytes())
    refused(tmp_path, [(tmp_path / "a.png", f"{i}.png") for i in range(4)], "send at most 3")
    monkeypatch.setattr(training_upload, "MAX_BYTES", 100)
    refused(tmp_path, [(tmp_path / "a.png", "a.png")], "more than 0 MB")


def test_one_training_at_a_time(cache):
    from ui.studio import Studio
    from ui.train import BUSY, train

    studio = Studio(cache)
    studio.training.lock.acquire()
    try:
        with pytest.raises(BadInput) as refusal:
            next(train(studio, [{"path": "/etc/passwd"}]))
        assert str(refusal.value) == BUSY
    finally:
        studio.training.lock.release()


def test_a_trained_adapter_appears_in_generate_without_a_restart(cache, tmp_path):
    import json as json_

    from tests.test_adapters import BASE, random_adapter
    from ui.generate import adapter_choices, adapter_list
    from ui.studio import Studio
    from ui.train import register_trained
    from ui.training_slot import TrainingSlot
    from zoo.cache import ModelCache

    studio = Studio(ModelCache(cache.registry, device="cpu"), training=TrainingSlot(root=tmp_path))
    register_trained(studio)
    assert adapter_choices(studio, BASE) == ["none"]
    folder = random_adapter(tmp_path / "mine" / "adapter")
    (folder / "training_config.json").write_text(json_.dumps({"base": BASE}))
    register_trained(studio)  # what the Train tab does when its run ends
    assert adapter_list(studio, BASE, "trained/mine")["choices"] == ["none", "trained/mine"]
    assert adapter_list(studio, "stabilityai/sd-turbo", "trained/mine")["value"] == "none"


def test_the_status_counts_the_decoder_steps_apart_and_the_sample_is_a_picture(cache, tmp_path, monkeypatch):
    """What the tab shows while the trainer's JSON lines come (a stand-in trainer prints them here)."""
    import sys

    from PIL import Image as PILImage

    from ui import train as train_tab
    from ui.studio import Studio
    from ui.training_slot import TrainingSlot

    sample = tmp_path / "mine" / "adapter" / "samples" / "step00010.png"
    sample.parent.mkdir(parents=True)
    PILImage.new("RGB", (64, 64), "red").save(sample)
    PILImage.new("RGB", (64, 64), "red").save(tmp_path / "elsewhere.png")
    lines = [
        {"phase": "decoder", "step": 91, "steps": 100, "loss": 0.003},
        {"phase": "unet", "step": 10, "steps": 10, "loss": 0.5},
        {"sample": str(sample), "step": 10},
        {"sample": str(tmp_path / "elsewhere.png"), "step": 10},  # only a file of the run's own folder is read
    ]
    script = "import json\n" + "".join(f"print(json.dumps({line!r}))\n" for line in lines)
    monkeypatch.setattr(train_tab, "_command", lambda *args: [sys.executable, "-c", script])
    studio = Studio(cache, training=TrainingSlot(root=tmp_path))
    shown = list(train_tab._train(studio, tmp_path / "mine", "starter/shapes-diffusion", 10, "mine"))
    statuses = [status for status, _, _ in shown]
    assert statuses[:2] == ["Training mine: decoder step 91 of 100.", "Training mine: step 10 of 10."]
    assert list(shown[1][1].itertuples(index=False, name=None)) == [(10, 0.5)]  # the UNet's losses only
    assert isinstance(shown[2][2], PILImage.Image) and not isinstance(shown[3][2], PILImage.Image)

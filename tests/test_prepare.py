"""python -m training prepare: every planted fault lands in the right list of report.json, with a reason,
and no good picture is dropped."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.prepare import prepare
from worlds.shapes.world import Obj, Scene, render, render_pil, sentence

GOOD = [
    Scene("white", "flat", (Obj("red", "circle", "small", "left"),)),
    Scene("white", "flat", (Obj("orange", "circle", "small", "left"),)),  # only the colour differs from the first
    Scene("white", "flat", (Obj("red", "square", "small", "left"),)),  # only the shape differs from the first
    Scene("black", "outline", (Obj("blue", "triangle", "large", "center"),)),
    Scene("gray", "flat", (Obj("green", "cross", "large", "top"),)),
    Scene("white", "outline", (Obj("pink", "square", "large", "right"), Obj("cyan", "circle", "small", "left"))),
]


def planted(folder: Path) -> dict[str, str]:
    """A folder of good pictures and one of each fault; returns file -> the list it must land in."""
    folder.mkdir()
    rows, where = [], {}

    def add(name: str, image: Image.Image | None, text: str | None, expected: str, **save) -> None:
        if image is not None:
            image.save(folder / name, **save)
        if text is not None:
            rows.append({"file_name": name, "text": text})
        where[name] = expected

    for i, scene in enumerate(GOOD):
        add(f"good{i}.png", render_pil(scene), sentence(scene), "kept")
    scenes = [Scene("gray", "flat", (Obj(c, "square", "large", "center"),)) for c in ("red", "yellow", "purple")]
    add("copy.png", render_pil(GOOD[0]), sentence(GOOD[0]), "dropped")
    add("near.jpg", render_pil(GOOD[3]), sentence(GOOD[3]), "dropped", quality=90)
    add("cmyk.jpg", render_pil(scenes[0]).convert("CMYK"), sentence(scenes[0]), "repaired", quality=95)
    add("deep.png", Image.fromarray(render(scenes[1])[..., 0].astype(np.uint16) * 257), "a deep one", "repaired")
    palette = render_pil(scenes[2]).convert("P", palette=Image.ADAPTIVE, colors=8)
    add("palette.png", palette, sentence(scenes[2]), "repaired", transparency=0)
    upright = render_pil(Scene("black", "flat", (Obj("yellow", "triangle", "large", "left"),)))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left: the viewer turns it right
    add("rotated.png", upright.transpose(Image.ROTATE_90), "a rotated one", "repaired", exif=exif)
    add("tiny.png", render_pil(GOOD[4]).resize((16, 16)), "tiny", "dropped")
    big = Scene("gray", "outline", (Obj("yellow", "cross", "small", "top"), Obj("blue", "square", "large", "bottom")))
    add("big.png", render_pil(big).resize((128, 128)), sentence(big), "repaired")
    add(
        "nocaption.png", render_pil(Scene("gray", "outline", (Obj("red", "cross", "small", "bottom"),))), "", "repaired"
    )
    add(
        "norow.png",
        render_pil(Scene("black", "outline", (Obj("green", "circle", "large", "right"),))),
        None,
        "repaired",
    )
    add("ghost.png", None, "a row naming a missing file", "dropped")
    (folder / "notes.txt").write_text("not a picture")
    where["notes.txt"] = "dropped"
    whole = io.BytesIO()
    render_pil(Scene("white", "flat", (Obj("purple", "cross", "large", "center"),))).save(whole, "PNG")
    (folder / "cut.png").write_bytes(whole.getvalue()[: len(whole.getvalue()) * 2 // 3])
    rows.append({"file_name": "cut.png", "text": "cut"})
    where["cut.png"] = "repaired"
    (folder / "garbage.png").write_bytes(whole.getvalue()[:40])
    rows.append({"file_name": "garbage.png", "text": "garbage"})
    where["garbage.png"] = "dropped"
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return where


def fake_captioner(pictures):
    return [f"caption {i}" for i, _ in enumerate(pictures)]


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepare")
    where = planted(root / "raw")
    report = prepare(root / "raw", root / "clean", 64, fake_captioner)
    return root / "clean", report, where


def test_every_file_lands_once_in_the_right_list(cleaned):
    _, report, where = cleaned
    landed = [(e["file"], kind) for kind, entries in report.items() for e in entries]
    assert sorted(f for f, _ in landed) == sorted(where), "every input file and row appears exactly once"
    assert dict(landed) == where
    assert all(e["reason"] for entries in report.values() for e in entries)


def test_reasons_name_the_fault(cleaned):
    _, report, _ = cleaned
    reason = {e["file"]: e["reason"] for entries in report.values() for e in entries}
    assert reason["copy.png"] == "a duplicate of good0.png (the same pixels)"
    assert reason["near.jpg"].startswith("a near duplicate of good3.png")
    assert "CMYK" in reason["cmyk.jpg"] and "16-bit" in reason["deep.png"]
    assert "transparency" in reason["palette.png"] and "EXIF orientation 6" in reason["rotated.png"]
    assert reason["tiny.png"].startswith("too small") and "128 x 128 resized to 64 x 64" in reason["big.png"]
    assert reason["nocaption.png"] == "captioned" and reason["norow.png"].startswith("captioned")
    assert "no such file" in reason["ghost.png"] and "truncated" in reason["cut.png"]
    assert "cannot read" in reason["garbage.png"] and "not a picture" in reason["notes.txt"]


def test_clean_folder_is_an_upright_rgb_imagefolder(cleaned):
    clean, report, _ = cleaned
    rows = [json.loads(line) for line in (clean / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == len(report["kept"]) + len(report["repaired"])
    for row in rows:
        image = Image.open(clean / row["file_name"])
        assert image.mode == "RGB" and image.size == (64, 64) and row["text"]
    by_file = {e["file"]: e["output"] for e in report["kept"] + report["repaired"]}
    rotated = np.asarray(Image.open(clean / by_file["rotated.png"]))
    assert np.array_equal(rotated, render(Scene("black", "flat", (Obj("yellow", "triangle", "large", "left"),))))
    cmyk = np.asarray(Image.open(clean / by_file["cmyk.jpg"]), np.int16)
    assert np.abs(cmyk - render(Scene("gray", "flat", (Obj("red", "square", "large", "center"),)))).max() < 24
    deep = np.asarray(Image.open(clean / by_file["deep.png"]))
    assert deep.max() > 200, "16-bit values are scaled, not clipped at 255"
    assert [r["text"] for r in rows if r["file_name"] == by_file["nocaption.png"]][0].startswith("caption")


def test_captions_come_from_the_registry_captioner(tmp_path):
    from training.prepare import registry_captioner

    scene = Scene("gray", "outline", (Obj("red", "cross", "small", "bottom"),))
    (tmp_path / "raw").mkdir()
    render_pil(scene).save(tmp_path / "raw" / "bare.png")  # a bare folder: no metadata.jsonl
    report = prepare(tmp_path / "raw", tmp_path / "clean", 64, registry_captioner(None, "starter/shapes-diffusion"))
    assert report["repaired"][0]["reason"] == "captioned"
    assert report["repaired"][0]["caption"] == sentence(scene)


def test_cli_refuses_a_missing_folder_with_a_sentence(tmp_path, capsys):
    from training.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["prepare", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "clean")])
    assert stop.value.code == 2
    assert "is not a folder" in capsys.readouterr().err

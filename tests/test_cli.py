"""python -m pipelines: the files and JSON lines that scripts and independent checks rely on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pipelines.__main__ import main
from pipelines.core.metadata import read_png
from tests.test_app import reads_as
from worlds.shapes.world import Obj, Scene, render_pil

REPO = Path(__file__).resolve().parent.parent
TWO_OBJECTS = "a large blue square on the left and a small pink triangle on the right on a gray background, flat style"
PROMPTS = ["a small red circle in the center on a white background, flat style", "big blue box on the left"]


@pytest.fixture
def cli(registry_path):
    return lambda *args: main(["--registry", str(registry_path), *args])


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "in.png"
    render_pil(Scene("gray", "flat", (Obj("green", "triangle", "large", "center"),))).save(path)
    return path


def test_generate_writes_pictures_and_results_in_order(cli, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n\n")
    out = tmp_path / "out"
    assert cli("generate", "--seed", "3", "--out", str(out), "--prompts", str(prompts)) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == PROMPTS
    assert [r["image"] for r in rows] == ["0000.png", "0001.png"]
    assert rows[0]["used_prompt"] == PROMPTS[0]  # canonical sentences are drawn as they are
    assert rows[1]["used_prompt"] != PROMPTS[1]  # the starter model's own prompter rewrote the request
    for row in rows:
        assert Image.open(out / row["image"]).size == (64, 64)
        assert read_png(out / row["image"])["seed"] == row["seed"]


def test_generate_reproduces_with_the_same_seed(cli, tmp_path):
    for name in ("a", "b"):
        assert cli("generate", "--seed", "11", "--out", str(tmp_path / name), PROMPTS[0]) == 0
    assert (tmp_path / "a" / "0000.png").read_bytes() == (tmp_path / "b" / "0000.png").read_bytes()


def test_generate_with_verify_records_candidates(cli, tmp_path):
    out = tmp_path / "v"
    assert cli("generate", "--verify", "2", "--rounds", "1", "--seed", "0", "--out", str(out), PROMPTS[0]) == 0
    row = json.loads((out / "results.jsonl").read_text())
    assert len(row["scores"]) == len(row["captions"]) == 2 and row["image"] == "0000.png"


def test_stylize_caption_and_expand(cli, tmp_path, picture, capsys):
    out = tmp_path / "styled"
    assert cli("stylize", "--style", "outline style", "--seed", "1", "--out", str(out), str(picture)) == 0
    row = json.loads((out / "results.jsonl").read_text())
    assert row["image"] == str(picture) and row["output"] == "0000.png" and (out / "0000.png").exists()
    capsys.readouterr()
    assert cli("caption", str(picture), str(out / "0000.png")) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == [str(picture), str(out / "0000.png")]
    # the picture, then its outline redraw, each told by its exact canonical sentence
    assert [line["caption"] for line in lines] == [
        "a large green triangle in the center on a gray background, flat style",
        "a large green triangle in the center on a gray background, outline style",
    ]
    assert cli("expand", "--seed", "2", "big red ball", "tiny box up top") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["prompt"] for line in lines] == ["big red ball", "tiny box up top"]
    # each a canonical sentence that keeps what the request states (the rest the prompter chooses)
    assert reads_as(lines[0]["expanded"], size="large", colour="red", shape="circle"), lines[0]
    assert reads_as(lines[1]["expanded"], size="small", shape="square", position="top"), lines[1]


def test_evaluate_prints_the_fidelity_table(cli, capsys):
    assert cli("evaluate", "--json", TWO_OBJECTS) == 0
    out = capsys.readouterr().out
    assert "whole" not in out and "2-object scenes right" in out and "position" in out
    result = json.loads(out.splitlines()[-1])
    assert result["prompts"] == 1 and result["model"] == "starter/shapes-diffusion"
    # the starter model draws this two-object scene right at seed 0: every attribute, and the whole scene
    assert result["scenes"] == {"2-object scenes right": 1.0, "all scenes right": 1.0}
    assert set(result["attributes"].values()) == {1.0}


@pytest.mark.parametrize(
    "args,words",
    [
        (["generate", "--out", "{tmp}", ""], "empty"),
        (["generate", "--model", "../../etc/passwd", "--out", "{tmp}", "x"], "not a model id"),
        (["caption", "{tmp}/missing.png"], "no picture file"),
        (["caption", "{notpicture}"], "not a picture"),
        (["stylize", "--style", "baroque", "--out", "{tmp}", "{picture}"], "flat"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_status_2(registry_path, tmp_path, picture, args, words):
    (tmp_path / "notes.png").write_text("not really a picture")
    args = [a.format(tmp=tmp_path, picture=picture, notpicture=tmp_path / "notes.png") for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "--registry", str(registry_path), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")


def test_a_missing_prompts_file_is_one_sentence_not_a_traceback(registry_path, tmp_path):
    """The bug as reported: python -m pipelines generate --prompts missing.txt printed a FileNotFoundError."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "--registry",
            str(registry_path),
            "generate",
            "--prompts",
            str(tmp_path / "missing.txt"),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: There is no prompts file at {tmp_path / 'missing.txt'}."


@pytest.fixture
def bad_files(tmp_path):
    """A missing path, a folder, a file of bytes that are not UTF-8 text, and a text file that is no picture.
    (The tests run as root, so an unreadable file is made of undecodable bytes, not permissions.)"""
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x81 not text \x9c\x00")
    (tmp_path / "text.png").write_text("a large red circle on the left on a gray background, flat style\n")
    return {
        "missing": tmp_path / "missing.txt",
        "folder": tmp_path / "folder",
        "binary": tmp_path / "binary",
        "text": tmp_path / "text.png",
    }


CLI_FILE_CASES = [
    (["generate", "--out", "{out}", "--prompts", "{missing}"], "There is no prompts file at"),
    (["generate", "--out", "{out}", "--prompts", "{folder}"], "is a folder, not a prompts file"),
    (["generate", "--out", "{out}", "--prompts", "{binary}"], "is not UTF-8 text"),
    (["generate", "--out", "{text}", "a red ball"], "is a file, not a folder"),
    (["evaluate", "--prompts", "{missing}"], "There is no prompts file at"),
    (["evaluate", "--prompts", "{folder}"], "is a folder, not a prompts file"),
    (["evaluate", "--prompts", "{binary}"], "is not UTF-8 text"),
    (["stylize", "--style", "outline style", "--out", "{out}", "{missing}"], "There is no picture file at"),
    (["stylize", "--style", "outline style", "--out", "{out}", "{folder}"], "There is no picture file at"),
    (["stylize", "--style", "outline style", "--out", "{out}", "{binary}"], "not a picture"),
    (["stylize", "--style", "outline style", "--out", "{text}", "{picture}"], "is a file, not a folder"),
    (["caption", "{picture}", "{missing}"], "There is no picture file at"),
    (["caption", "{picture}", "{folder}"], "There is no picture file at"),
    (["caption", "{binary}"], "not a picture"),
    (["--registry", "{missing}", "caption", "{picture}"], "does not exist"),
    (["--registry", "{folder}", "caption", "{picture}"], "is a folder"),
    (["--registry", "{binary}", "caption", "{picture}"], "is not UTF-8 text"),
    (["--registry", "{text}", "caption", "{picture}"], "is not valid TOML"),
]


@pytest.mark.parametrize("args,words", CLI_FILE_CASES)
def test_every_bad_file_argument_is_one_sentence_and_exit_status_2(
    registry_path, tmp_path, picture, bad_files, capsys, args, words
):
    args = [a.format(out=tmp_path / "out", picture=picture, **bad_files) for a in args]
    if args[0] != "--registry":
        args = ["--registry", str(registry_path), *args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and words in err, err
    assert not (tmp_path / "out" / "results.jsonl").exists()  # nothing was started


TRAINING_FILE_CASES = [
    (["--data", "{missing}"], "is not a folder"),
    (["--data", "{text}"], "is not a folder"),
    (["--data", "{folder}"], "has no metadata.jsonl file"),
    (["--data", "{data_binary}"], "cannot be read as JSON lines"),
    (["--data", "{data_no_picture}"], "which is not a picture file"),
    (["--data", "{data_empty}"], "lists no pictures"),
    (["--work-dir", "{text}"], "is a file, not a folder"),
    (["--out", "{text}"], "is a file, not a folder"),
]


@pytest.mark.parametrize("args,words", TRAINING_FILE_CASES)
def test_every_bad_training_file_argument_is_one_sentence_and_exit_status_2(tmp_path, bad_files, capsys, args, words):
    from training.__main__ import main as train_main

    folders = {}
    for name, metadata in {
        "data_binary": b"\xff\xfe not json \x9c",
        "data_no_picture": b'{"file_name": "text.png", "text": "a red ball"}\n',
        "data_empty": b"\n",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metadata.jsonl").write_bytes(metadata)
        (tmp_path / name / "text.png").write_text("not a picture")
        folders[name] = tmp_path / name
    args = [a.format(**bad_files, **folders) for a in args]
    defaults = {"--out": str(tmp_path / "model"), "--work-dir": str(tmp_path / "work")}
    args += [x for flag, value in defaults.items() if flag not in args for x in (flag, value)]
    with pytest.raises(SystemExit) as stopped:
        train_main(["diffusion", "--steps", "1", "--vae-steps", "1", "--batch", "1", *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and words in err, err
    assert not (tmp_path / "model").exists()  # nothing was trained

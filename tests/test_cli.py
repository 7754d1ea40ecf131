"""python -m pipelines: the files and JSON lines that scripts and independent checks rely on."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pipelines.__main__ import main
from pipelines.metadata import read_png
from worlds.shapes.world import Obj, Scene, render_pil

REPO = Path(__file__).resolve().parent.parent
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
    assert all(isinstance(line["caption"], str) and line["caption"] for line in lines)
    assert cli("expand", "--seed", "2", "big red ball", "tiny box up top") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["prompt"] for line in lines] == ["big red ball", "tiny box up top"]
    assert all(line["expanded"] for line in lines)


def test_evaluate_prints_the_fidelity_table(cli, capsys):
    assert cli("evaluate", "--json", *PROMPTS[:1]) == 0
    out = capsys.readouterr().out
    assert "whole" not in out and "1-object scenes right" in out and "position" in out
    result = json.loads(out.splitlines()[-1])
    assert result["prompts"] == 1 and 0 <= result["scenes"]["all scenes right"] <= 1


@pytest.mark.parametrize("args,words", [
    (["generate", "--out", "{tmp}", ""], "empty"),
    (["generate", "--model", "../../etc/passwd", "--out", "{tmp}", "x"], "not a model id"),
    (["caption", "{tmp}/missing.png"], "no picture file"),
    (["caption", "{notpicture}"], "not a picture"),
    (["stylize", "--style", "baroque", "--out", "{tmp}", "{picture}"], "flat"),
])
def test_bad_input_is_one_sentence_and_exit_status_2(registry_path, tmp_path, picture, args, words):
    (tmp_path / "notes.png").write_text("not really a picture")
    args = [a.format(tmp=tmp_path, picture=picture, notpicture=tmp_path / "notes.png") for a in args]
    done = subprocess.run([sys.executable, "-m", "pipelines", "--registry", str(registry_path), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")

"""python -m training lora: a tiny run writes an adapter the zoo loads, and a run stopped and resumed
gives the same adapter, bit for bit, as one straight through."""

import json
import random
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from bench import teach_shape as star
from training.__main__ import main as train_main
from worlds.shapes.world import COLOURS, POSITIONS

TINY = ["--steps", "4", "--prior", "4", "--vae-steps", "2", "--batch", "4", "--rank", "2", "--sample-every", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stars")
    rng, rows = random.Random(0), []
    for i in range(6):
        scene = star.star_scene(rng, list(COLOURS), list(POSITIONS))
        Image.fromarray(star.render(scene)).save(folder / f"{i}.png")
        rows.append({"file_name": f"{i}.png", "text": star.sentence(scene)})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def lora(data: Path, out: Path, *more: str) -> None:
    train_main(["lora", "--data", str(data), "--out", str(out), "--text-encoder", *TINY, *more])


def test_resume_is_bit_for_bit_a_straight_run(data, tmp_path, capsys):
    lora(data, tmp_path / "straight")
    lora(data, tmp_path / "stopped", "--stop-after", "2")
    assert "stopped after step 2 of 4" in capsys.readouterr().err
    assert not (tmp_path / "stopped" / "pytorch_lora_weights.safetensors").exists()
    lora(data, tmp_path / "stopped", "--resume")
    for name in ("pytorch_lora_weights.safetensors", "vae_decoder_lora.safetensors"):
        straight, resumed = load_file(tmp_path / "straight" / name), load_file(tmp_path / "stopped" / name)
        assert straight.keys() == resumed.keys() and straight
        assert all(torch.equal(straight[k], resumed[k]) for k in straight), name
    card = (tmp_path / "straight" / "README.md").read_text()
    config = json.loads((tmp_path / "straight" / "training_config.json").read_text())
    assert "python -m training lora" in card and config["text_encoder"] and config["augmentation"]
    assert any(
        k.startswith("text_encoder.") for k in load_file(tmp_path / "straight" / "pytorch_lora_weights.safetensors")
    )
    assert (tmp_path / "straight" / "samples" / "step00002.png").is_file()


def test_a_second_run_into_a_used_folder_is_refused(data, tmp_path, capsys):
    lora(data, tmp_path / "used", "--stop-after", "2")
    with pytest.raises(SystemExit):
        lora(data, tmp_path / "used")
    assert "continue it with --resume" in capsys.readouterr().err

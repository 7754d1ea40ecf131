"""Each trainer runs a few steps, writes a checkpoint the zoo loads like any model, and is
deterministic and resumable."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch

from training.__main__ import main as train_main
from training.vocab import WORD_RE
from worlds.shapes.world import random_scene, render_pil, sentence
from zoo.cache import ModelCache
from zoo.registry import load_registry

REGISTRY = """
[[model]]
id = "local/diffusion"
task = "text-to-image"
path = "diffusion"
loader = "StableDiffusionPipeline"
licence = "apache-2.0"
memory_gb = 0.02
dtype = {{ cuda = "float16", mps = "float32", cpu = "float32" }}
defaults = {{ steps = 2, guidance = 1.0, width = 64, height = 64 }}

[[model]]
id = "local/captioner"
task = "captioning"
path = "captioner"
loader = "BlipForConditionalGeneration"
licence = "apache-2.0"
memory_gb = 0.01
dtype = {{ cuda = "float32", mps = "float32", cpu = "float32" }}

[[model]]
id = "local/prompter"
task = "prompt-expansion"
path = "prompter"
loader = "AutoModelForCausalLM"
licence = "apache-2.0"
memory_gb = 0.01
dtype = {{ cuda = "float32", mps = "float32", cpu = "float32" }}
prompt_template = "{{request}} =>"
keep_request = false
"""


def tiny(model, out, work, *extra):
    train_main([model, "--steps", "2", "--batch", "2", "--out", str(out), "--work-dir", str(work), *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    work = tmp_path_factory.mktemp("runs")
    tiny("diffusion", root / "diffusion", work, "--vae-steps", "2")
    tiny("captioner", root / "captioner", work)
    tiny("prompter", root / "prompter", work)
    (root / "registry.toml").write_text(REGISTRY.format())
    return root


def test_checkpoints_are_fp16_safetensors_with_a_model_card(trained):
    for name in ("diffusion", "captioner", "prompter"):
        folder = trained / name
        files = list(folder.rglob("*.safetensors"))
        assert files and not list(folder.rglob("*.bin"))
        for f in files:
            assert {a.dtype for a in load_file(f).values()} <= {np.dtype("float16"), np.dtype("int64")}, f
        card = (folder / "README.md").read_text()
        assert f"python -m training {name}" in card and "Hardware" in card
        assert json.loads((folder / "training_config.json").read_text())["seed"] == 0


def test_the_zoo_loads_and_runs_what_the_trainers_wrote(trained):
    from pipelines.models.expander import expand
    from pipelines.tasks.caption import caption
    from pipelines.tasks.generate import generate

    cache = ModelCache(load_registry(trained / "registry.toml"), device="cpu", budget_gb=2)
    drawn = generate(cache, "a small red circle in the center on a white background, flat style", seed=0)
    assert drawn.images[0].size == (64, 64)
    # two training steps teach no sentences yet, but what comes out is decoded text in each model's own words
    captioned = caption(cache, render_pil(random_scene(__import__("random").Random(0))))
    assert len(captioned) == 1 and 1 <= len(words(captioned[0])) <= 40
    assert set(words(captioned[0])) <= vocabulary(trained / "captioner"), captioned
    expanded = expand(cache, "big red ball", seed=0)
    assert words(expanded) and set(words(expanded)) <= vocabulary(trained / "prompter"), expanded


def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())


def vocabulary(folder) -> set[str]:
    """The whole words of a trained model's tokenizer (its training text's words)."""
    return {token.lstrip("Ġ") for token in json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]}


def test_same_seed_same_weights(tmp_path):
    tiny("prompter", tmp_path / "a", tmp_path / "wa")
    tiny("prompter", tmp_path / "b", tmp_path / "wb")
    a = load_file(tmp_path / "a" / "model.safetensors")
    b = load_file(tmp_path / "b" / "model.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


def weights(folder):
    files = sorted(folder.rglob("*.safetensors"))
    return {f"{f.relative_to(folder)}:{k}": v for f in files for k, v in load_torch(f).items()}


@pytest.mark.parametrize("model", ["prompter", "captioner"])
def test_resume_is_bit_identical_to_a_straight_run(tmp_path, model, capsys):
    """8 steps straight == stopped after 4 (the schedule still spans 8), then resumed to 8. The prompter's
    dropout draws from the global torch random state, the captioner's pixel noise from its own generator."""
    args = [model, "--steps", "8", "--batch", "2"]
    train_main([*args, "--out", str(tmp_path / "straight"), "--work-dir", str(tmp_path / "w1")])
    train_main([*args, "--out", str(tmp_path / "resumed"), "--work-dir", str(tmp_path / "w2"), "--stop-after", "4"])
    assert "stopped after step 4 of 8" in capsys.readouterr().err
    assert not (tmp_path / "resumed").exists()  # a stopped run writes no model
    train_main([*args, "--out", str(tmp_path / "resumed"), "--work-dir", str(tmp_path / "w2"), "--resume"])
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    # and the steps after the resume did move the weights: four steps alone are not eight
    train_main(
        [model, "--steps", "4", "--batch", "2", "--out", str(tmp_path / "four"), "--work-dir", str(tmp_path / "w3")]
    )
    four = weights(tmp_path / "four")
    assert not all(torch.equal(straight[k], four[k]) for k in straight)


def test_diffusion_resume_is_bit_identical_to_a_straight_run(tmp_path):
    """The VAE phase draws from the global torch random state, the UNet phase from the trainer's generator.
    The BPE tokenizer numbers its tokens differently on every build, so the stopped run starts (--resume on
    an empty state) with the straight run's tokenizer, kept in its work dir as a resumed run keeps its own."""
    args = ["diffusion", "--steps", "4", "--vae-steps", "2", "--batch", "2"]
    train_main([*args, "--out", str(tmp_path / "straight"), "--work-dir", str(tmp_path / "w1")])
    shutil.copytree(tmp_path / "w1" / "diffusion" / "tokenizer", tmp_path / "w2" / "diffusion" / "tokenizer")
    train_main(
        [*args, "--out", str(tmp_path / "resumed"), "--work-dir", str(tmp_path / "w2"), "--resume", "--stop-after", "2"]
    )
    assert not (tmp_path / "resumed").exists()
    train_main([*args, "--out", str(tmp_path / "resumed"), "--work-dir", str(tmp_path / "w2"), "--resume"])
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys() and any("unet" in k for k in straight)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_resume_with_other_steps_is_refused_in_one_sentence(tmp_path, capsys):
    work = tmp_path / "w"
    train_main(
        [
            "prompter",
            "--steps",
            "8",
            "--batch",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--work-dir",
            str(work),
            "--stop-after",
            "4",
        ]
    )
    with pytest.raises(SystemExit) as stopped:
        train_main(
            [
                "prompter",
                "--steps",
                "6",
                "--batch",
                "2",
                "--out",
                str(tmp_path / "o"),
                "--work-dir",
                str(work),
                "--resume",
            ]
        )
    assert stopped.value.code == 2
    assert "started with 8 steps, not 6" in capsys.readouterr().err


def test_diffusion_trains_on_an_imagefolder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = __import__("random").Random(0)
    rows = []
    for i in range(4):
        scene = random_scene(rng)
        render_pil(scene).resize((96, 96)).save(data / f"{i}.png")
        rows.append({"file_name": f"{i}.png", "text": sentence(scene)})
    (data / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    tiny("diffusion", tmp_path / "out", tmp_path / "work", "--vae-steps", "2", "--data", str(data), "--crop", "0.2")
    assert (tmp_path / "out" / "unet" / "diffusion_pytorch_model.safetensors").exists()
    card = (tmp_path / "out" / "README.md").read_text()
    assert "imagefolder" in card or str(data) in card
    assert Image.open(data / "0.png").size == (96, 96)

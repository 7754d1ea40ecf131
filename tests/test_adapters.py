"""LoRA adapters: registry entries, loading through load_lora_weights for one run, the base model's
pictures bit for bit unchanged, the A1111 parameters, and the command line's --lora."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.core.metadata import png_info, save_png
from pipelines.core.results import GenerateRequest
from pipelines.tasks.generate import run
from zoo.cache import ModelCache
from zoo.errors import BadInput, InvalidRegistry, UnknownModel
from zoo.registry import ModelEntry, load_registry

BASE = "starter/shapes-diffusion"
PROMPT = "a large red circle on the left on a white background, flat style"


def random_adapter(folder: Path, seed: int = 0) -> Path:
    """An adapter with random, non-zero weights on the starter UNet and text encoder (and no training)."""
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipe = StableDiffusionPipeline.from_pretrained(Path(__file__).parent.parent / "zoo/starter/shapes-diffusion")
    torch.manual_seed(seed)
    pipe.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_v"], init_lora_weights=False))
    pipe.text_encoder.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["q_proj"], init_lora_weights=False))
    StableDiffusionPipeline.save_lora_weights(
        folder,
        unet_lora_layers=get_peft_model_state_dict(pipe.unet),
        text_encoder_lora_layers=get_peft_model_state_dict(pipe.text_encoder),
    )
    return folder


@pytest.fixture(scope="module")
def with_adapter(registry, tmp_path_factory):
    folder = random_adapter(tmp_path_factory.mktemp("adapter"))
    entry = ModelEntry("trained/random", "lora", "load_lora_weights", {}, 0.0, "apache-2.0", path=folder, base=BASE)
    return ModelCache(registry.with_entries([entry]), device="cpu", budget_gb=4)


def picture(cache, **asked) -> np.ndarray:
    job = GenerateRequest(PROMPT, model=BASE, seed=5, draw_as_is=True, **asked)
    return np.asarray(run(cache, job).pictures[0].image)


def test_loading_and_unloading_never_change_the_base_pictures(with_adapter):
    before = picture(with_adapter)
    adapted = picture(with_adapter, lora="trained/random")
    after = picture(with_adapter)
    assert not np.array_equal(before, adapted), "the adapter changes the picture"
    assert np.array_equal(before, after), "without the adapter the same seed gives the same picture"
    with with_adapter.use(BASE) as pipe:  # and the weights themselves are back, not only this picture
        names = [n for n, _ in pipe.unet.named_parameters()]
        assert not any("lora" in n for n in names)
    half = picture(with_adapter, lora="trained/random", lora_scale=0.5)
    assert not np.array_equal(half, adapted), "the scale is used"


def test_parameters_record_the_adapter_as_automatic1111_does(with_adapter, tmp_path):
    job = GenerateRequest(PROMPT, model=BASE, seed=5, draw_as_is=True, lora="trained/random", lora_scale=0.7)
    result = run(with_adapter, job).pictures[0]
    path = save_png(result.image, tmp_path / "a.png", result.parameters)
    from PIL import Image

    text = Image.open(path).info["parameters"]
    assert text.splitlines()[0] == PROMPT + " <lora:trained/random:0.7>"
    assert 'Lora hashes: "trained/random: ' in text
    info = png_info(path)
    assert (info["prompt"], info["lora"], info["lora_scale"]) == (PROMPT, "trained/random", 0.7)


def test_wrong_adapters_get_sentences(with_adapter, registry):
    with pytest.raises(UnknownModel, match="no model 'trained/none'"):
        picture(with_adapter, lora="trained/none")
    with pytest.raises(BadInput, match="not a LoRA adapter"):
        picture(with_adapter, lora="starter/shapes-captioner")
    with pytest.raises(BadInput, match="Adapter scale"):
        picture(with_adapter, lora="trained/random", lora_scale=9)
    with pytest.raises(UnknownModel, match="not a model id"):
        picture(with_adapter, lora="../../etc/passwd")


def test_registry_takes_lora_entries(tmp_path):
    (tmp_path / "star").mkdir()
    entry = """
[[model]]
id = "local/base"
task = "text-to-image"
path = "base"
loader = "StableDiffusionPipeline"
licence = "apache-2.0"
memory_gb = 0.02
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }

[[model]]
id = "local/star"
task = "lora"
base = "local/base"
path = "star"
scale = 0.8
licence = "apache-2.0"
"""
    (tmp_path / "registry.toml").write_text(entry)
    registry = load_registry(tmp_path / "registry.toml")
    assert [e.id for e in registry.adapters_for("local/base")] == ["local/star"]
    assert registry.get("local/star").scale == 0.8
    (tmp_path / "registry.toml").write_text(entry.replace('base = "local/base"', 'base = "local/other"'))
    with pytest.raises(InvalidRegistry, match="text-to-image model"):
        load_registry(tmp_path / "registry.toml")
    (tmp_path / "registry.toml").write_text(entry.replace("scale = 0.8", "scale = 7"))
    with pytest.raises(InvalidRegistry, match="scale"):
        load_registry(tmp_path / "registry.toml")


def test_cli_takes_a_path_with_a_scale(tmp_path):
    from pipelines.__main__ import main

    folder = random_adapter(tmp_path / "mine", seed=1)
    assert main(["generate", "--out", str(tmp_path / "out"), "--lora", f"{folder}:0.6", PROMPT]) == 0
    row = json.loads((tmp_path / "out" / "results.jsonl").read_text())
    assert png_info(tmp_path / "out" / row["image"])["lora"] == "file/mine"
    assert main(["generate", "--out", str(tmp_path / "out"), "--lora", str(tmp_path / "nothing"), PROMPT]) == 2

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
    torch.set_num_threads(2)
    lora(data, tmp_path / "straight")
    assert torch.get_num_threads() == 2  # the trainer runs on one thread, and gives the caller's count back
    lora(data, tmp_path / "stopped", "--stop-after", "2")
    assert "stopped after step 2 of 4" in capsys.readouterr().err
    assert not (tmp_path / "stopped" / "pytorch_lora_weights.safetensors").exists()
    lora(data, tmp_path / "stopped", "--resume")
    for name in ("pytorch_lora_weights.safetensors", "vae_decoder_lora.safetensors", "embeddings/star.safetensors"):
        straight, resumed = load_file(tmp_path / "straight" / name), load_file(tmp_path / "stopped" / name)
        assert straight.keys() == resumed.keys() and straight
        assert all(torch.equal(straight[k], resumed[k]) for k in straight), name
    card = (tmp_path / "straight" / "README.md").read_text()
    config = json.loads((tmp_path / "straight" / "training_config.json").read_text())
    assert "python -m training lora" in card and config["new_words"] == ["star"] and config["augmentation"]
    assert not any(  # the text encoder's layers stay as they are: only the new word is learnt
        k.startswith("text_encoder.") for k in load_file(tmp_path / "straight" / "pytorch_lora_weights.safetensors")
    )
    assert (tmp_path / "straight" / "samples" / "step00002.png").is_file()


def test_the_adapter_loads_whole_through_load_lora_weights(data, tmp_path):
    """Every LoRA layer trained comes back on the pipeline (a format that lost the attention layers once)."""
    import warnings

    from diffusers import StableDiffusionPipeline
    from peft.utils import get_peft_model_state_dict

    from zoo import adapters

    lora(data, tmp_path / "a", "--text-encoder-lora")
    saved = load_file(tmp_path / "a" / "pytorch_lora_weights.safetensors")
    pipe = StableDiffusionPipeline.from_pretrained(
        Path(__file__).parent.parent / "zoo/starter/shapes-diffusion", dtype=torch.float32
    )
    words_before = len(pipe.tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # peft warns when the saved layers and the config disagree
        adapters.apply(pipe, tmp_path / "a", "a", 1.0)
    for part, module in (("unet", pipe.unet), ("text_encoder", pipe.text_encoder)):
        loaded = get_peft_model_state_dict(module, adapter_name="a", save_embedding_layers=False)
        mine = {k[len(part) + 1 :]: v for k, v in saved.items() if k.startswith(part + ".")}
        assert mine.keys() == loaded.keys() and all(torch.equal(mine[k], loaded[k]) for k in mine), part
    decoder = load_file(tmp_path / "a" / "vae_decoder_lora.safetensors")
    assert decoder.keys() == get_peft_model_state_dict(pipe.vae.decoder).keys()
    star_vector = load_file(tmp_path / "a" / "embeddings" / "star.safetensors")["star"]
    (star_id,) = pipe.tokenizer("star", add_special_tokens=False).input_ids
    assert torch.equal(pipe.text_encoder.get_input_embeddings().weight[star_id], star_vector)
    adapters.remove(pipe)
    parts = (pipe.unet, pipe.text_encoder, pipe.vae)
    assert not any("lora" in n for part in parts for n, _ in part.named_parameters()), "taken off whole"
    assert len(pipe.tokenizer) == words_before and len(pipe.tokenizer.tokenize("star")) > 1


def test_new_words_are_caption_words_the_tokenizer_spells_in_pieces():
    from transformers import CLIPTokenizer

    from training.lora import new_words

    tokenizer = CLIPTokenizer.from_pretrained(Path(__file__).parent.parent / "zoo/starter/shapes-diffusion/tokenizer")
    texts = ["a small red star on the left on a white background, flat style", "a blue circle and a STAR"]
    assert new_words(tokenizer, texts) == ["star"]
    assert new_words(tokenizer, ["a large purple cross at the top on a gray background, outline style"]) == []


def test_an_old_prompt_reaches_the_unet_exactly_as_before_with_the_new_word_loaded(data, tmp_path):
    from diffusers import StableDiffusionPipeline

    from zoo import adapters

    lora(data, tmp_path / "w")
    pipe = StableDiffusionPipeline.from_pretrained(
        Path(__file__).parent.parent / "zoo/starter/shapes-diffusion", dtype=torch.float32
    )
    old, new = "a small red circle on the left on a white background, flat style", "a small red star"

    def states(prompt):
        ids = pipe.tokenizer(prompt, padding="max_length", max_length=32, return_tensors="pt").input_ids
        with torch.no_grad():
            return pipe.text_encoder(ids)[0]

    before_old, before_new = states(old), states(new)
    with adapters.applied(pipe, tmp_path / "w", "w", 1.0):
        assert torch.equal(states(old), before_old)
        assert not torch.equal(states(new), before_new)
    assert torch.equal(states(new), before_new)


def test_a_second_run_into_a_used_folder_is_refused(data, tmp_path, capsys):
    lora(data, tmp_path / "used", "--stop-after", "2")
    with pytest.raises(SystemExit):
        lora(data, tmp_path / "used")
    assert "continue it with --resume" in capsys.readouterr().err


def test_sigint_stops_after_the_step_with_the_state_kept(data, tmp_path):
    """The Train tab's Stop: SIGINT to the trainer, which saves its state and ends cleanly."""
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-m", "training", "lora", "--data", str(data), "--out", str(tmp_path / "s")]
    command += ["--text-encoder", *TINY[2:], "--steps", "40"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout or []:
        if json.loads(line).get("phase") == "unet":
            process.send_signal(signal.SIGINT)
            break
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0 and "stopped after step" in err and "continue with --resume" in err
    assert (tmp_path / "s" / "state" / "unet.pt").is_file()
    assert not (tmp_path / "s" / "pytorch_lora_weights.safetensors").exists()


def test_an_adapter_that_teaches_words_goes_on_only_for_prompts_that_name_them(data, tmp_path):
    import numpy as np

    from pipelines.core.adapters import from_argument
    from pipelines.core.results import GenerateRequest
    from pipelines.tasks import generate
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    lora(data, tmp_path / "w")
    registry, adapter, _ = from_argument(load_registry(), str(tmp_path / "w"), None)
    cache = ModelCache(registry, device="cpu")
    old = "a small red circle on the left on a white background, flat style"
    new = "a small red star on the left on a white background, flat style"

    def picture(prompt: str, lora: str | None, verify: int = 0):
        job = GenerateRequest(prompt, seed=5, expand_with="none", lora=lora, lora_scale=1.0, verify=verify)
        drawn = generate.run(cache, job).pictures[0]
        return np.asarray(drawn.image), drawn.parameters

    base_old, _ = picture(old, None)
    with_old, parameters = picture(old, adapter)
    assert np.array_equal(with_old, base_old)  # the base model's picture, bit for bit
    assert parameters["lora"] == adapter and "lora_on" not in parameters
    assert not np.array_equal(picture(new, adapter)[0], picture(new, None)[0])  # on for the new word
    assert np.array_equal(picture(old, adapter, verify=2)[0], picture(old, None, verify=2)[0])  # verify too
    assert not np.array_equal(picture(new, adapter, verify=2)[0], picture(new, None, verify=2)[0])


def test_an_adapter_naming_a_word_badly_is_refused_and_leaves_the_base_as_it_was(data, tmp_path):
    import shutil

    from diffusers import StableDiffusionPipeline

    from zoo import adapters
    from zoo.errors import UnsafeCheckpoint

    lora(data, tmp_path / "b")
    words = tmp_path / "b" / "embeddings"
    shutil.copy(words / "star.safetensors", words / "St-ar.safetensors")
    pipe = StableDiffusionPipeline.from_pretrained(
        Path(__file__).parent.parent / "zoo/starter/shapes-diffusion", dtype=torch.float32
    )
    with pytest.raises(UnsafeCheckpoint, match="new words must be lowercase letters"):
        adapters.apply(pipe, tmp_path / "b", "b", 1.0)
    assert not any("lora" in n for n, _ in pipe.unet.named_parameters())  # the UNet layers came off again
    assert len(pipe.tokenizer.tokenize("star")) > 1

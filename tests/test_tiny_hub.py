"""The tiny hub (tests/tiny_hub.py) looks to huggingface_hub, diffusers and transformers like the real
repos in an offline cache: snapshot_download resolves each pinned revision, and each snapshot loads
with its real class and runs."""

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.tiny_hub import IMAGE, PINNED, WORDS, commit_for

PIPELINE_FILES = ["model_index.json", "*/*.json", "*/*.safetensors", "*/*.txt", "*/*.model"]
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]


def snapshot(repo_id: str, revision: str | None = None, patterns=MODEL_FILES) -> Path:
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, revision=revision or PINNED[repo_id], allow_patterns=patterns))


def picture(seed: int = 0) -> Image.Image:
    g = torch.Generator().manual_seed(seed)
    return Image.fromarray(torch.randint(0, 256, (IMAGE, IMAGE, 3), generator=g, dtype=torch.uint8).numpy())


def test_cache_layout(tiny_hub):
    hub = tiny_hub / "hub"
    base = hub / "models--Salesforce--blip-image-captioning-base"
    assert (base / "refs" / "refs" / "pr" / "50").read_text() == commit_for("Salesforce/blip-image-captioning-base")
    for repo_id, revision in PINNED.items():
        storage = hub / ("models--" + repo_id.replace("/", "--"))
        commit = (storage / "refs" / revision).read_text()
        assert len(commit) == 40 and commit == commit_for(repo_id)
        files = [p for p in (storage / "snapshots" / commit).rglob("*") if not p.is_dir()]
        assert files and (storage / "trees" / f"{commit}.json").is_file()
        for link in files:
            target = os.readlink(link)
            assert not os.path.isabs(target) and link.resolve().parent == (storage / "blobs").resolve()
            if link.suffix in (".safetensors", ".bin"):
                assert len(link.resolve().name) == 64  # LFS files: blob named by sha256
        weights = {p.suffix for p in files if p.suffix in (".safetensors", ".bin", ".pt", ".ckpt")}
        assert weights == ({".bin"} if repo_id == "acme/pickle-only" else {".safetensors"}), repo_id


@pytest.mark.parametrize("repo_id", list(PINNED))
def test_snapshot_download_resolves_offline(offline_hub, repo_id):
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE and constants.HF_HUB_CACHE == str(offline_hub)
    patterns = PIPELINE_FILES if "sd" in repo_id or "diffusion-v1-5" in repo_id else MODEL_FILES
    commit = commit_for(repo_id)
    expected = offline_hub / ("models--" + repo_id.replace("/", "--")) / "snapshots" / commit
    assert snapshot(repo_id, patterns=patterns) == expected
    assert snapshot(repo_id, revision=commit, patterns=patterns) == expected  # a pinned commit resolves too


def test_offline_misses_and_other_revisions(offline_hub):
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    with pytest.raises(LocalEntryNotFoundError):
        snapshot_download("acme/not-there")
    with pytest.raises(LocalEntryNotFoundError):
        snapshot_download("stabilityai/sd-turbo", revision="v2")
    # like the real repo, the base captioner's main holds pickle weights only
    main = snapshot("Salesforce/blip-image-captioning-base", revision="main")
    assert sorted(p.name for p in main.iterdir()) == ["config.json", "pytorch_model.bin"]


@pytest.mark.parametrize("repo_id", ["stabilityai/sd-turbo", "stable-diffusion-v1-5/stable-diffusion-v1-5"])
def test_stable_diffusion_loads_and_runs(offline_hub, repo_id):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(
        snapshot(repo_id, patterns=PIPELINE_FILES), use_safetensors=True, dtype=torch.float32
    )  # sd-turbo also has an fp16 variant
    assert pipe.vae_scale_factor == 8 and pipe.safety_checker is None
    out = pipe(
        "a red cat",
        num_inference_steps=1,
        guidance_scale=1.0,
        height=IMAGE,
        width=IMAGE,
        output_type="pil",
        generator=torch.Generator().manual_seed(0),
    )
    assert out.images[0].size == (IMAGE, IMAGE)


def test_stable_diffusion_xl_loads_and_runs(offline_hub):
    from diffusers import StableDiffusionXLPipeline

    folder = snapshot("stabilityai/sdxl-turbo", patterns=PIPELINE_FILES)
    pipe = StableDiffusionXLPipeline.from_pretrained(folder, use_safetensors=True)
    out = pipe(
        "a blue house",
        num_inference_steps=1,
        guidance_scale=0.0,
        height=IMAGE,
        width=IMAGE,
        output_type="pil",
        generator=torch.Generator().manual_seed(0),
    )
    assert out.images[0].size == (IMAGE, IMAGE)


def test_qwen_chat(offline_hub):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = snapshot("Qwen/Qwen2.5-0.5B-Instruct")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    text = "Zebras & 42 façades: a photo of a cat!"
    assert tokenizer.decode(tokenizer(text).input_ids) == text  # byte-level: any text round-trips
    messages = [{"role": "user", "content": "a cat"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith(
        "<|im_start|>user\na cat<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer(prompt, return_tensors="pt")
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    out = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > ids.input_ids.shape[1]
    reply = tokenizer.decode(out[0, ids.input_ids.shape[1] :], skip_special_tokens=True)
    assert out.shape[1] == ids.input_ids.shape[1] + 5  # no end-of-turn drawn by the random weights: 5 tokens
    assert reply.split() and set(reply.split()) <= set(WORDS), reply  # a reply in the tiny vocabulary's words


def test_magic_prompt_continues(offline_hub):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = snapshot("Gustavosta/MagicPrompt-Stable-Diffusion")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    assert type(model).__name__ == "GPT2LMHeadModel"
    ids = tokenizer("a castle on a hill", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert out.shape[1] > ids.input_ids.shape[1]


@pytest.mark.parametrize("repo_id", ["Salesforce/blip-image-captioning-base", "Salesforce/blip-image-captioning-large"])
def test_blip_captions(offline_hub, repo_id):
    from transformers import BlipForConditionalGeneration, BlipProcessor

    folder = snapshot(repo_id)
    processor = BlipProcessor.from_pretrained(folder)
    model = BlipForConditionalGeneration.from_pretrained(folder, use_safetensors=True)
    inputs = processor(images=picture(), return_tensors="pt")
    assert inputs.pixel_values.shape == (1, 3, IMAGE, IMAGE)
    out = model.generate(**inputs, max_new_tokens=5)
    caption = processor.decode(out[0], skip_special_tokens=True)
    assert 1 <= len(caption.split()) <= 5 and set(caption.split()) <= set(WORDS), caption  # words of its vocabulary


def test_clip_scores(offline_hub):
    from transformers import CLIPModel, CLIPProcessor

    folder = snapshot("openai/clip-vit-base-patch32")
    processor = CLIPProcessor.from_pretrained(folder)
    model = CLIPModel.from_pretrained(folder, use_safetensors=True)
    inputs = processor(
        text=["a red cat", "a blue house by the sea"],
        images=[picture(0), picture(1)],
        return_tensors="pt",
        padding=True,
    )
    with torch.no_grad():
        logits = model(**inputs).logits_per_image
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()


def test_broken_repos_fail_to_load(offline_hub):
    from diffusers import StableDiffusionPipeline
    from transformers import AutoModelForCausalLM

    pickle_only = snapshot("acme/pickle-only")
    assert not list(pickle_only.rglob("*.safetensors"))
    with pytest.raises(OSError, match="model.safetensors"):
        AutoModelForCausalLM.from_pretrained(pickle_only, use_safetensors=True)
    corrupt = snapshot("acme/corrupt-sd", patterns=PIPELINE_FILES)
    with pytest.raises(OSError, match="diffusion_pytorch_model.safetensors"):
        StableDiffusionPipeline.from_pretrained(corrupt, use_safetensors=True)

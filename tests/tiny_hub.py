"""A tiny, offline Hugging Face hub cache holding random-weight models of the real architectures.

`build_tiny_hub(hf_home)` writes `hf_home/hub/models--ORG--NAME/{blobs,refs,snapshots,trees}` for every
hub repo in zoo/registry.toml (same repo ids and revisions), laid out the way `snapshot_download` leaves
them: file contents in `blobs/` named by their hash (sha256 for the weight files, which the hub stores
with LFS, git blob sha1 for the rest), `snapshots/<commit>/<path>` relative symlinks to those blobs,
`refs/<revision>` holding the 40-hex commit (a pull-request revision lives at `refs/refs/pr/N`), and the
per-commit tree listing `trees/<commit>.json` that huggingface_hub >= 2 writes beside them. With
HF_HOME (or HF_HUB_CACHE) pointing there and offline mode on, the project's real loading code
(`snapshot_download(...)` then `from_pretrained(folder, use_safetensors=True)`) resolves and loads them.

The models follow the dummy components of diffusers' and transformers' own tests (e.g. diffusers'
`StableDiffusionPipelineFastTests.get_dummy_components()`), shrunk further: a few hundred KB each.
Weights are safetensors only, except in the two broken repos kept for error paths:
  acme/pickle-only   config.json + pytorch_model.bin, no safetensors
  acme/corrupt-sd    a StableDiffusionPipeline whose unet safetensors file is truncated
and Salesforce/blip-image-captioning-base's `main`, which (like the real repo) carries pickle weights
only; its safetensors live on the pinned revision refs/pr/50.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

# Plain English a tokenizer spells as whole tokens; anything else still encodes (byte pieces or [UNK]).
WORDS = sorted(
    set(
        """
a an the of and in on with at by for to from is it this that as or under over near beside behind
photo picture painting drawing portrait landscape illustration render sketch style art artwork
cat dog bird horse fox person woman man child robot castle house tree forest mountain river lake sea
ocean beach city street sky sun moon star cloud night day light dark fire water snow flower garden
red orange yellow green blue purple pink white black gray brown gold silver
big small large tiny tall round square circle triangle old new bright soft warm cold
beautiful detailed highly sharp focus cinematic lighting digital oil watercolor trending concept
realistic photorealistic fantasy epic dramatic colorful vibrant intricate elegant
sitting standing running flying
""".split()
    )
)

SYSTEM_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
# Qwen2.5's chat format (<|im_start|>role\n...<|im_end|>\n), without its tool-calling branches.
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\n" + SYSTEM_PROMPT + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx")
IMAGE = 32  # pixels: the side of every picture the tiny models expect / make


def commit_for(repo_id: str, revision: str | None = None) -> str:
    """The fake, deterministic 40-hex commit of a repo (of one of its extra revisions when given)."""
    key = repo_id if revision is None else f"{repo_id}@{revision}"
    return hashlib.sha1(key.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- tokenizers


def _byte_bpe(words: list[str], prefix: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE (GPT-2 / Qwen style): the 256 byte symbols, plus merges that spell each word,
    bare and with the word-start marker `prefix` ('Ġ', a space), as one token."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = list(bytes_to_unicode().values())
    known, merges = set(vocab), []
    for word in words:
        for spelled in (word, prefix + word):
            symbols = list(spelled)
            while len(symbols) > 1:
                merged = symbols[0] + symbols[1]
                if merged not in known:
                    merges.append((symbols[0], symbols[1]))
                    known.add(merged)
                    vocab.append(merged)
                symbols = [merged] + symbols[2:]
    return {t: i for i, t in enumerate(vocab)}, merges


def gpt2_tokenizer():
    from transformers import GPT2Tokenizer

    vocab, merges = _byte_bpe(WORDS, "Ġ")
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = 1024
    return tokenizer


def qwen_tokenizer():
    from transformers import Qwen2Tokenizer

    vocab, merges = _byte_bpe(WORDS, "Ġ")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        extra_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tokenizer.model_max_length = 131072
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def clip_tokenizer():
    from training.vocab import clip_tokenizer as build

    return build(WORDS, max_length=77)


def bert_tokenizer():
    from training.vocab import bert_tokenizer as build

    tokenizer = build(WORDS)
    tokenizer.model_max_length = 512
    return tokenizer


# ---------------------------------------------------------------------------------------------- models


def _clip_text_config(tokenizer, **overrides):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        **{
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": tokenizer.model_max_length,
            "layer_norm_eps": 1e-5,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
            **overrides,
        }
    )


def _tiny_vae():
    from diffusers import AutoencoderKL

    # four blocks, as in the real VAEs, so vae_scale_factor is 8 like theirs
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=IMAGE,
    )


def tiny_autoencoder():
    """TAESD's architecture (AutoencoderTiny: three 2x upsamplings, so 8x like the VAEs), narrower."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    return AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    )


def stable_diffusion(flavour: str):
    """flavour 'sd2' (sd-turbo: SD 2.1 text encoder and UNet options, Euler trailing) or 'sd1' (SD 1.5, PNDM)."""
    import torch
    from diffusers import EulerDiscreteScheduler, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    sd2 = flavour == "sd2"
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(_clip_text_config(tokenizer, hidden_act="gelu" if sd2 else "quick_gelu"))
    unet = UNet2DConditionModel(
        sample_size=IMAGE // 8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=2,
        use_linear_projection=sd2,
    )
    common = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)
    scheduler = (
        EulerDiscreteScheduler(**common, timestep_spacing="trailing")
        if sd2
        else PNDMScheduler(**common, skip_prk_steps=True, set_alpha_to_one=False)
    )
    return StableDiffusionPipeline(
        vae=_tiny_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def stable_diffusion_xl():
    """As diffusers' StableDiffusionXLPipelineFastTests.get_dummy_components(), smaller; sdxl-turbo's scheduler."""
    import torch
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    tokenizer, tokenizer_2 = clip_tokenizer(), clip_tokenizer()
    text_encoder = CLIPTextModel(_clip_text_config(tokenizer))
    text_encoder_2 = CLIPTextModelWithProjection(_clip_text_config(tokenizer_2, hidden_act="gelu", projection_dim=32))
    time_dim = 8
    unet = UNet2DConditionModel(
        sample_size=IMAGE // 8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 2),
        cross_attention_dim=32 + 32,  # both encoders' hidden states
        addition_embed_type="text_time",
        addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=6 * time_dim + 32,  # six size/crop ids + the pooled projection
    )
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="trailing"
    )
    return StableDiffusionXLPipeline(
        vae=_tiny_vae(),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )


def qwen():
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = qwen_tokenizer()
    endoftext, im_end = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            tie_word_embeddings=True,
            bos_token_id=endoftext,
            eos_token_id=im_end,
            pad_token_id=endoftext,
        )
    )
    # as the real repo's generation_config.json: sampling, stop on <|im_end|> or <|endoftext|>
    model.generation_config = GenerationConfig(
        bos_token_id=endoftext,
        pad_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        do_sample=True,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
        repetition_penalty=1.05,
    )
    return model, tokenizer


def gpt2():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = gpt2_tokenizer()
    eos = tokenizer.eos_token_id
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=1024,
            n_embd=16,
            n_layer=2,
            n_head=2,
            bos_token_id=eos,
            eos_token_id=eos,
        )
    )
    return model, tokenizer


def blip():
    """As training/train_captioner.py builds its BLIP, smaller (transformers 5 wants the text config's
    bos = [DEC], sep, pad and encoder_hidden_size = the vision width)."""
    import torch
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    torch.manual_seed(0)
    tokenizer = bert_tokenizer()
    processor = BlipProcessor(BlipImageProcessor(size={"height": IMAGE, "width": IMAGE}), tokenizer)
    width = 16
    model = BlipForConditionalGeneration(
        BlipConfig(
            vision_config={
                "image_size": IMAGE,
                "patch_size": 8,
                "hidden_size": width,
                "intermediate_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
            },
            text_config={
                "vocab_size": len(tokenizer),
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "max_position_embeddings": 512,
                "bos_token_id": tokenizer.bos_token_id,
                "sep_token_id": tokenizer.sep_token_id,
                "eos_token_id": tokenizer.sep_token_id,
                "pad_token_id": tokenizer.pad_token_id,
                "encoder_hidden_size": width,
            },
            projection_dim=16,
        )
    )
    return model, processor


def clip():
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    processor = CLIPProcessor(
        CLIPImageProcessor(size={"shortest_edge": IMAGE}, crop_size={"height": IMAGE, "width": IMAGE}), tokenizer
    )
    text = _clip_text_config(tokenizer, hidden_size=16, intermediate_size=32, num_attention_heads=2).to_dict()
    model = CLIPModel(
        CLIPConfig(
            text_config=text,
            vision_config={
                "image_size": IMAGE,
                "patch_size": 8,
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
            },
            projection_dim=16,
        )
    )
    return model, processor


# ---------------------------------------------------------------------------------------------- repos


def _save(*parts) -> Callable[[Path], None]:
    """A writer that saves each part (model, tokenizer or processor) into one folder, safetensors only."""

    def write(folder: Path) -> None:
        for part in parts:
            if hasattr(part, "state_dict"):
                part.save_pretrained(folder, safe_serialization=True)
            else:
                part.save_pretrained(folder)

    return write


def _save_chat_model(model, tokenizer) -> Callable[[Path], None]:
    """As _save, with the chat template inside tokenizer_config.json, where the real Qwen repos keep it
    (transformers 5 writes it to chat_template.jinja; both load)."""

    def write(folder: Path) -> None:
        _save(model, tokenizer)(folder)
        jinja, config = folder / "chat_template.jinja", folder / "tokenizer_config.json"
        settings = json.loads(config.read_text())
        settings["chat_template"] = jinja.read_text()
        config.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
        jinja.unlink()

    return write


def _save_pipeline(pipe) -> Callable[[Path], None]:
    return lambda folder: pipe.save_pretrained(folder, safe_serialization=True)


def _save_pipeline_with_fp16(pipe) -> Callable[[Path], None]:
    """Full-precision weights plus the fp16 variant (`*.fp16.safetensors`), as SD-Turbo's repo has them."""

    def write(folder: Path) -> None:
        import copy

        import torch

        pipe.save_pretrained(folder, safe_serialization=True)
        copy.deepcopy(pipe).to(torch.float16).save_pretrained(folder, safe_serialization=True, variant="fp16")

    return write


def _pickle_only(model) -> Callable[[Path], None]:
    """config.json + pytorch_model.bin, as old repos have them (and as Atelier must refuse)."""

    def write(folder: Path) -> None:
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        model.config.to_json_file(folder / "config.json")
        torch.save(model.state_dict(), folder / "pytorch_model.bin")

    return write


def _corrupt(write_pipeline: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        write_pipeline(folder)
        unet = folder / "unet" / "diffusion_pytorch_model.safetensors"
        data = unet.read_bytes()
        unet.write_bytes(data[: len(data) // 3] + b"\x00not a tensor\xff" * 4)

    return write


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _publish(hub: Path, repo_id: str, revision: str, commit: str, files: Path) -> None:
    """Stores the files of `files` as snapshot `commit` of `repo_id`, reachable as `revision`."""
    from huggingface_hub.file_download import repo_folder_name

    storage = hub / repo_folder_name(repo_id=repo_id, repo_type="model")
    blobs, snapshot = storage / "blobs", storage / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    tree = {}
    for src in sorted(p for p in files.rglob("*") if p.is_file()):
        rel = src.relative_to(files).as_posix()
        data = src.read_bytes()
        entry = {"size": len(data), "blob_id": _git_sha1(data)}
        if rel.endswith(LFS_SUFFIXES):  # the hub keeps these in LFS: the blob is named by sha256
            sha256 = hashlib.sha256(data).hexdigest()
            entry.update(lfs_sha256=sha256, lfs_size=len(data))
            blob = blobs / sha256
        else:  # regular git files: named by their etag, the git blob sha1
            blob = blobs / entry["blob_id"]
        tree[rel] = entry
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():  # building again over an old hub
            link.unlink()
        try:
            os.symlink(os.path.relpath(blob, link.parent), link)
        except OSError:  # no symlinks (Windows without developer mode): huggingface_hub then copies too
            shutil.copyfile(blob, link)
    ref = storage / "refs" / revision  # "refs/pr/50" -> refs/refs/pr/50, as huggingface_hub writes it
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)  # no trailing newline: huggingface_hub reads the file verbatim
    trees = storage / "trees"
    trees.mkdir(exist_ok=True)
    (trees / f"{commit}.json").write_text(json.dumps({"format_version": 1, "files": tree}, indent=1))


def repos() -> list[tuple[str, str, str, Callable[[Path], None]]]:
    """(repo_id, revision, commit, writer) for every snapshot of the tiny hub; the models are built here,
    seeded, and written by the writers."""
    sd2, sd1 = stable_diffusion("sd2"), stable_diffusion("sd1")
    blip_base, blip_large = blip(), blip()
    base = "Salesforce/blip-image-captioning-base"
    return [
        ("stabilityai/sd-turbo", "main", commit_for("stabilityai/sd-turbo"), _save_pipeline_with_fp16(sd2)),
        (
            "stable-diffusion-v1-5/stable-diffusion-v1-5",
            "main",
            commit_for("stable-diffusion-v1-5/stable-diffusion-v1-5"),
            _save_pipeline(sd1),
        ),
        ("stabilityai/sdxl-turbo", "main", commit_for("stabilityai/sdxl-turbo"), _save_pipeline(stable_diffusion_xl())),
        ("Qwen/Qwen2.5-0.5B-Instruct", "main", commit_for("Qwen/Qwen2.5-0.5B-Instruct"), _save_chat_model(*qwen())),
        (
            "Gustavosta/MagicPrompt-Stable-Diffusion",
            "main",
            commit_for("Gustavosta/MagicPrompt-Stable-Diffusion"),
            _save(*gpt2()),
        ),
        (base, "refs/pr/50", commit_for(base), _save(*blip_base)),
        (base, "main", commit_for(base, "main"), _pickle_only(blip_base[0])),  # like the real repo's main
        (
            "Salesforce/blip-image-captioning-large",
            "main",
            commit_for("Salesforce/blip-image-captioning-large"),
            _save(*blip_large),
        ),
        ("openai/clip-vit-base-patch32", "main", commit_for("openai/clip-vit-base-patch32"), _save(*clip())),
        ("madebyollin/taesd", "main", commit_for("madebyollin/taesd"), _save(tiny_autoencoder())),
        ("madebyollin/taesdxl", "main", commit_for("madebyollin/taesdxl"), _save(tiny_autoencoder())),
        ("acme/pickle-only", "main", commit_for("acme/pickle-only"), _pickle_only(gpt2()[0])),
        ("acme/corrupt-sd", "main", commit_for("acme/corrupt-sd"), _corrupt(_save_pipeline(sd1))),
    ]


# The revision each repo is pinned at (zoo/registry.toml's, or main for the broken ones).
PINNED = {
    "stabilityai/sd-turbo": "main",
    "stable-diffusion-v1-5/stable-diffusion-v1-5": "main",
    "stabilityai/sdxl-turbo": "main",
    "Qwen/Qwen2.5-0.5B-Instruct": "main",
    "Gustavosta/MagicPrompt-Stable-Diffusion": "main",
    "Salesforce/blip-image-captioning-base": "refs/pr/50",
    "Salesforce/blip-image-captioning-large": "main",
    "openai/clip-vit-base-patch32": "main",
    "madebyollin/taesd": "main",
    "madebyollin/taesdxl": "main",
    "acme/pickle-only": "main",
    "acme/corrupt-sd": "main",
}


def build_tiny_hub(hf_home: Path) -> dict[str, str]:
    """Creates hf_home/hub/models--ORG--NAME/{blobs,refs,snapshots,trees} for every repo; returns
    {repo_id: commit_hash} of each repo's pinned revision (PINNED)."""
    hub = Path(hf_home) / "hub"
    hub.mkdir(parents=True, exist_ok=True)
    commits = {}
    with tempfile.TemporaryDirectory(prefix="tiny-hub-") as staging:
        for i, (repo_id, revision, commit, write) in enumerate(repos()):
            folder = Path(staging) / str(i)
            write(folder)
            _publish(hub, repo_id, revision, commit, folder)
            if PINNED[repo_id] == revision:
                commits[repo_id] = commit
    return commits


def go_offline(monkeypatch, hf_home: Path) -> Path:
    """Points huggingface_hub at `hf_home` with offline mode on, for one test (undone by monkeypatch).

    The environment variables serve code that reads them (and subprocesses); huggingface_hub reads them
    once, at import, into huggingface_hub.constants, so those constants are patched too, as
    huggingface_hub's own tests do. Returns the hub cache folder (hf_home/hub)."""
    from huggingface_hub import constants

    hf_home = Path(hf_home)
    hub = hf_home / "hub"
    for name, value in {"HF_HOME": hf_home, "HF_HUB_CACHE": hub, "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_CACHE", raising=False)
    monkeypatch.setattr(constants, "HF_HOME", str(hf_home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hub


if __name__ == "__main__":  # python -m tests.tiny_hub DIR: build one to look at
    import sys
    import time

    started = time.perf_counter()
    out = build_tiny_hub(Path(sys.argv[1]))
    print(json.dumps(out, indent=1), f"\nbuilt in {time.perf_counter() - started:.1f} s")

"""Trains a small BLIP captioner (BlipForConditionalGeneration + BlipProcessor) from scratch to
answer every starter-world picture with its canonical sentence."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from training.loop import seed_everything, train, write_card
from training.vocab import bert_tokenizer, starter_texts, words_of
from worlds.shapes.variants import render_variant
from worlds.shapes.world import held_out, reading_order, render, sentence, training_scene

CONFIG = {
    "resolution": 64,
    "vision": {
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "patch_size": 8,
    },
    "text": {
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 40,
    },
    "steps": 5000,
    "batch": 48,
    "lr": 1e-3,
    "noise_std": 0.05,  # pixel noise (of the 0..1 range) so captions hold up on generated pictures
    "variant_share": 0.8,  # share of pictures drawn by worlds.shapes.variants (within the spec, not world.py's pixels)
    "init": None,  # a captioner folder to start from (fine-tuning) instead of random weights
    "small_cross_share": 0.0,  # share of scenes whose first object is made a small cross (the hardest case)
}


def build(config: dict):
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    tokenizer = bert_tokenizer(words_of(starter_texts(3000)))
    r = config["resolution"]
    processor = BlipProcessor(BlipImageProcessor(size={"height": r, "width": r}), tokenizer)
    model = BlipForConditionalGeneration(
        BlipConfig(
            vision_config={"image_size": r, **config["vision"]},
            text_config={
                "vocab_size": len(tokenizer),
                "bos_token_id": tokenizer.bos_token_id,
                "sep_token_id": tokenizer.sep_token_id,
                "eos_token_id": tokenizer.sep_token_id,
                "pad_token_id": tokenizer.pad_token_id,
                "encoder_hidden_size": config["vision"]["hidden_size"],
                **config["text"],
            },
        )
    )
    return processor, model


def _with_small_cross(scene, rng: random.Random, share: float):
    """The scene, with its first object made a small cross `share` of the time (unless that is held out)."""
    if rng.random() >= share:
        return scene
    crossed = replace(scene, objects=(replace(scene.objects[0], shape="cross", size="small"),) + scene.objects[1:])
    return scene if held_out(crossed) else crossed


def load(folder: Path):
    """A saved captioner (processor, float32 model) to fine-tune."""
    from transformers import BlipForConditionalGeneration, BlipProcessor

    return BlipProcessor.from_pretrained(folder), BlipForConditionalGeneration.from_pretrained(folder).float()


def pixel_values(processor, pictures: np.ndarray, noise_std: float = 0.0, generator=None) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> normalised tensor, as BlipImageProcessor makes it (already the right size)."""
    ip = processor.image_processor
    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 255.0
    if noise_std:
        scale = noise_std * torch.rand(len(x), 1, 1, 1, generator=generator)
        x = (x + scale * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    mean = torch.tensor(ip.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(ip.image_std).view(1, 3, 1, 1)
    return (x - mean) / std


def run(out: Path, work_dir: Path, seed: int = 0, resume: bool = False, overrides: dict | None = None) -> dict:
    config = {**CONFIG, **(overrides or {})}
    torch.set_num_threads(1)  # two trainers share the two cores
    seed_everything(seed)
    processor, model = build(config) if not config["init"] else load(Path(config["init"]))
    tokenizer = processor.tokenizer

    def world_batch(step: int, size: int):
        rng = random.Random(seed * 1_000_003 + step)
        scenes = [
            reading_order(_with_small_cross(training_scene(rng), rng, config["small_cross_share"])) for _ in range(size)
        ]  # never a held-out combination
        share = config["variant_share"]
        pictures = [render_variant(s, rng) if rng.random() < share else render(s) for s in scenes]
        return np.stack(pictures), [sentence(s) for s in scenes]

    generator = torch.Generator().manual_seed(seed)
    started = time.time()

    def loss(step: int) -> torch.Tensor:
        pictures, texts = world_batch(step, config["batch"])
        enc = tokenizer(texts, padding=True, return_tensors="pt")
        ids = enc.input_ids.clone()
        ids[:, 0] = tokenizer.bos_token_id
        labels = ids.masked_fill(enc.attention_mask == 0, -100)
        x = pixel_values(processor, pictures, config["noise_std"], generator)
        return model(pixel_values=x, input_ids=ids, attention_mask=enc.attention_mask, labels=labels).loss

    train("captioner", {"model": model}, loss, config["steps"], config["lr"], work_dir, resume, generators=[generator])
    model.to(torch.float16).save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    minutes = (time.time() - started) / 60
    write_card(out, "shapes-captioner", CARD.format(minutes=minutes, seed=seed), config | {"seed": seed})
    return {"minutes": minutes}


CARD = """A BLIP captioner (BlipForConditionalGeneration + BlipProcessor) for 64 x 64 pictures of the
starter world, trained from scratch by Atelier. It answers with the world's canonical sentence,
naming two objects in reading order (left before right, top before bottom).

## Training
    python -m training captioner --seed {seed}

Configuration: training_config.json beside this card. Hardware: 2-core CPU, {minutes:.0f} minutes.

## Scores
See the table below, written by `python -m bench.starter_quality`.
"""

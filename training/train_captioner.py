"""Trains a small BLIP captioner (BlipForConditionalGeneration + BlipProcessor) from scratch to
answer every starter-world picture with its canonical sentence."""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import torch

from worlds.shapes.world import random_scene, reading_order, render, sentence
from training.loop import seed_everything, train, write_card
from training.vocab import bert_tokenizer, starter_texts, words_of

CONFIG = {
    "resolution": 64,
    "vision": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3, "num_attention_heads": 4,
               "patch_size": 8},
    "text": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
             "max_position_embeddings": 40},
    "steps": 5000, "batch": 48, "lr": 1e-3,
    "noise_std": 0.05,  # pixel noise (of the 0..1 range) so captions hold up on generated pictures
}


def build(config: dict):
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    tokenizer = bert_tokenizer(words_of(starter_texts(3000)))
    r = config["resolution"]
    processor = BlipProcessor(BlipImageProcessor(size={"height": r, "width": r}), tokenizer)
    model = BlipForConditionalGeneration(BlipConfig(
        vision_config={"image_size": r, **config["vision"]},
        text_config={"vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id,
                     "sep_token_id": tokenizer.sep_token_id, "eos_token_id": tokenizer.sep_token_id,
                     "pad_token_id": tokenizer.pad_token_id, "encoder_hidden_size": config["vision"]["hidden_size"],
                     **config["text"]},
    ))
    return processor, model


def pixel_values(processor, pictures: np.ndarray, noise_std: float = 0.0, generator=None) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> normalised tensor, as BlipImageProcessor makes it (already the right size)."""
    ip = processor.image_processor
    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 255.0
    if noise_std:
        x = (x + noise_std * torch.rand(len(x), 1, 1, 1, generator=generator) * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    mean = torch.tensor(ip.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(ip.image_std).view(1, 3, 1, 1)
    return (x - mean) / std


def run(out: Path, work_dir: Path, seed: int = 0, resume: bool = False, overrides: dict | None = None) -> dict:
    config = {**CONFIG, **(overrides or {})}
    seed_everything(seed)
    processor, model = build(config)
    tokenizer = processor.tokenizer

    def world_batch(step: int, size: int):
        rng = random.Random(seed * 1_000_003 + step)
        scenes = [reading_order(random_scene(rng)) for _ in range(size)]
        return np.stack([render(s) for s in scenes]), [sentence(s) for s in scenes]

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

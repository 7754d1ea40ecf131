"""Trains a small GPT-2 from scratch to continue "{request} =>" with the canonical sentence:
stated attributes copied, the rest drawn at random within the world's rules."""
from __future__ import annotations

import random
import time
from pathlib import Path

import torch

from training.loop import seed_everything, train, write_card
from worlds.shapes.requests import freeform, stated_subset
from training.vocab import starter_texts, word_tokenizer, words_of
from worlds.shapes.world import random_scene, sentence

SEPARATOR = "=>"
PROMPT_TEMPLATE = "{request} " + SEPARATOR
CONFIG = {
    "model": {"n_embd": 128, "n_layer": 3, "n_head": 4, "n_positions": 96},
    "steps": 2500, "batch": 64, "lr": 1e-3,
    "unknown_word_rate": 0.1,  # share of requests with a word the vocabulary lacks, so new words are ignored
}


def build(config: dict):
    from transformers import GPT2Config, GPT2LMHeadModel

    end = "<|endoftext|>"
    tokenizer = word_tokenizer(words_of(starter_texts(3000)) + [SEPARATOR], [end, "[UNK]"],
                               eos_token=end, bos_token=end, pad_token=end)
    tokenizer.model_max_length = config["model"]["n_positions"]
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.eos_token_id,
                                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id,
                                       **config["model"]))
    return tokenizer, model


def example(rng: random.Random, unknown_word_rate: float) -> tuple[str, str]:
    scene = random_scene(rng)
    request = freeform(stated_subset(scene, rng, rng.uniform(0.2, 1.0)), rng)
    if rng.random() < unknown_word_rate:
        words = request.split()
        words.insert(rng.randint(0, len(words)), "[UNK]")
        request = " ".join(words)
    return PROMPT_TEMPLATE.format(request=request), sentence(scene)


def run(out: Path, work_dir: Path, seed: int = 0, resume: bool = False, overrides: dict | None = None) -> dict:
    config = {**CONFIG, **(overrides or {})}
    seed_everything(seed)
    tokenizer, model = build(config)
    started = time.time()

    def loss(step: int) -> torch.Tensor:
        rng = random.Random(seed * 1_000_003 + step)
        rows = []
        for _ in range(config["batch"]):
            prompt, target = example(rng, config["unknown_word_rate"])
            p, t = tokenizer(prompt).input_ids, tokenizer(target).input_ids + [tokenizer.eos_token_id]
            rows.append((p + t, [-100] * len(p) + t))
        width = max(len(ids) for ids, _ in rows)
        ids = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i, _ in rows])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
        mask = (labels != -100) | (torch.arange(width) < torch.tensor([len(i) for i, _ in rows])[:, None])
        return model(input_ids=ids, attention_mask=mask.long(), labels=labels).loss

    train("prompter", {"model": model}, loss, config["steps"], config["lr"], work_dir, resume)
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    model.to(torch.float16).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    minutes = (time.time() - started) / 60
    write_card(out, "shapes-prompter", CARD.format(minutes=minutes, seed=seed, template=PROMPT_TEMPLATE),
               config | {"seed": seed, "prompt_template": PROMPT_TEMPLATE})
    return {"minutes": minutes}


CARD = """A GPT-2 language model, trained from scratch by Atelier, that turns a free-form request for a
starter-world picture into the world's canonical sentence. Prompt it with `{template}` and
let it continue to the end-of-text token; sampling with a seed fills in what the request leaves out.

## Training
    python -m training prompter --seed {seed}

Configuration: training_config.json beside this card. Hardware: 2-core CPU, {minutes:.0f} minutes.

## Scores
See the table below, written by `python -m bench.starter_quality`.
"""

"""Trains a small GPT-2 from scratch to continue "{request} =>" with the canonical sentence:
stated attributes copied, the rest drawn at random within the world's rules."""

from __future__ import annotations

import random
import time
from pathlib import Path

import torch

from training.loop import seed_everything, train, write_card
from training.vocab import starter_texts, word_tokenizer, words_of
from worlds.shapes.chinese import TABLES_ZH, freeform_zh, mixed
from worlds.shapes.requests import freeform, stated_subset
from worlds.shapes.world import sentence, training_scene

SEPARATOR = "=>"
PROMPT_TEMPLATE = "{request} " + SEPARATOR
CONFIG = {
    "model": {"n_embd": 128, "n_layer": 3, "n_head": 4, "n_positions": 96},
    "steps": 4800,
    "batch": 32,
    "lr": 2e-3,
    "unknown_word_rate": 0.1,  # share of requests with a word the vocabulary lacks, so new words are ignored
    "languages": {"english": 0.55, "chinese": 0.35, "mixed": 0.1},  # share of requests written each way
    "scenes": "worlds.shapes.world.training_scene (never a held-out scene)",
}
WRITERS = {"english": freeform, "chinese": freeform_zh, "mixed": mixed}


def request_texts(n: int, seed: int = 0) -> list[str]:
    """Requests in every language the prompter reads, plus every Chinese table word, for the vocabulary."""
    rng = random.Random(seed)
    texts = [w for table in TABLES_ZH.values() for words in table.values() for w in words]
    for _ in range(n):
        scene = training_scene(rng)
        texts += [WRITERS[lang](stated_subset(scene, rng, 0.8), rng) for lang in WRITERS]
    return texts


def build(config: dict):
    from transformers import GPT2Config, GPT2LMHeadModel

    end = "<|endoftext|>"
    tokenizer = word_tokenizer(
        words_of(starter_texts(3000) + request_texts(3000)) + [SEPARATOR],
        [end, "[UNK]"],
        eos_token=end,
        bos_token=end,
        pad_token=end,
    )
    tokenizer.model_max_length = config["model"]["n_positions"]
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.eos_token_id,
            **config["model"],
        )
    )
    return tokenizer, model


def example(rng: random.Random, unknown_word_rate: float, languages: dict[str, float]) -> tuple[str, str]:
    scene = training_scene(rng)
    writer = WRITERS[rng.choices(list(languages), weights=list(languages.values()))[0]]
    request = writer(stated_subset(scene, rng, rng.uniform(0.2, 1.0)), rng)
    if rng.random() < unknown_word_rate:
        at = rng.choice([i for i, c in enumerate(request + " ") if c == " " or not c.isascii()])
        request = f"{request[:at]} [UNK] {request[at:]}"
    return PROMPT_TEMPLATE.format(request=request), sentence(scene)


def run(out: Path, work_dir: Path, seed: int = 0, resume: bool = False, overrides: dict | None = None) -> dict:
    config = {**CONFIG, **(overrides or {})}
    torch.set_num_threads(1)  # two trainers share the two cores
    seed_everything(seed)
    tokenizer, model = build(config)
    started = time.time()

    def loss(step: int) -> torch.Tensor:
        rng = random.Random(seed * 1_000_003 + step)
        rows = []
        for _ in range(config["batch"]):
            prompt, target = example(rng, config["unknown_word_rate"], config["languages"])
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
    shares = {lang: round(100 * share) for lang, share in config["languages"].items()}
    card = CARD.format(minutes=minutes, seed=seed, template=PROMPT_TEMPLATE, shares=shares, **config)
    write_card(out, "shapes-prompter", card, config | {"seed": seed, "prompt_template": PROMPT_TEMPLATE})
    return {"minutes": minutes}


CARD = """A GPT-2 language model (3 layers, 128 wide, word- and character-level vocabulary), trained
from scratch by Atelier, that turns a free-form request for a starter-world picture, in English, in
Chinese, or in English with Chinese words, into the world's canonical English sentence. Prompt it with
`{template}` and let it continue to the end-of-text token; sampling with a seed fills in what the
request leaves out. Chinese is tokenized one character per token.

## Training
Hardware: a 2-core CPU, one torch thread, shared with other jobs ({minutes:.0f} minutes). What was run:

    python -m training prompter --seed {seed} --work-dir /tmp/prompter-work

Configuration: training_config.json beside this card ({steps} steps of {batch} requests, AdamW at
lr {lr}, cosine schedule). Each request is written from a random scene of
`worlds.shapes.world.training_scene`, so no held-out scene (`worlds.shapes.world.held_out`: purple
triangles, small crosses at the top) is ever a training target; each states a random share of the
scene's attributes, in English ({shares[english]} %, `worlds/shapes/requests.py: freeform`), Chinese
({shares[chinese]} %, `worlds/shapes/chinese.py: freeform_zh`) or English with Chinese words ({shares[mixed]} %,
`chinese.py: mixed`).

## How it is used, and what checks it
`python -m pipelines expand` (and `generate`, for any request that is not already canonical) samples
up to 4 continuations and keeps the first that is a canonical sentence keeping every attribute that
a rule-based reader (`worlds/shapes/requests.py: read_request`, with `worlds/shapes/chinese.py` for
Chinese) finds in the request. That reader knows only the words of the tables in worlds/shapes/CONTRACT.md: it
cannot read relations or counts beyond them ("a red ball next to a blue box" is read as a single
blue circle: "next to" is not a joiner, so one object, and the red is lost), negations ("not red"
is read as red) or words outside the tables, so the check can only be as right as the reader. When
no sample passes, the model's output is dropped and the world's grammar writes the canonical sentence
itself (`World.complete`: every attribute the reader finds, the rest drawn from the seed).

## Scores
The tables below are written by `python -m bench.prompter_quality --write-card` (also run by
`python -m bench.starter_quality --write-cards`), for English, Chinese and mixed requests and for
requests of held-out scenes, with how many of the bench's requests occur word for word in training,
three ways: the model alone (its first sample), the model with the rule-based checker (sample-and-check,
the best sample kept when none passes), and `expand` as it runs (the rule-based grammar writes the
sentence when no sample passes).
"""

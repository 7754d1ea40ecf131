"""Rewrites a request into a prompt the image model understands, with a language model.

Chat models get a system prompt written for picture prompts through their chat template;
completion models continue the entry's prompt_template. Sampling is seeded, so the same
request and seed give the same prompt.
"""

from __future__ import annotations

import torch

from pipelines.core import inputs
from worlds import world_for
from zoo.cache import ModelCache

SYSTEM_PROMPT = (
    "You rewrite requests for pictures into one prompt for a text-to-image model. Keep everything "
    "the request asks for: subjects, colours, counts, positions, style. Add concrete visual detail "
    "(lighting, composition, medium) only where the request leaves it open. Answer with the prompt "
    "alone, in English whatever the language of the request, one line, under 60 words."
)
WORLD_RETRIES = 4  # samples a starter-world prompter gets to write a canonical sentence that keeps the request
# (model cards and bench/prompter_quality.py report the model alone, sample-and-check, and with this fallback)


def expand(cache: ModelCache, request: str, model_id: str | None = None, seed: int | None = None) -> str:
    request = inputs.prompt(request)
    entry = cache.registry.pick(model_id, "prompt-expansion")
    seed = inputs.seed(seed)
    world = world_for(entry.world)
    with cache.use(entry.id) as lm:
        if world is None:
            return _generate(lm, entry, request, seed) or request
        # the world's grammar checks each sample; the model writes every one it keeps
        for attempt in range(WORLD_RETRIES):
            text = _generate(lm, entry, request, seed + attempt)
            if world.agreement(request, text) == 1.0:
                return text
    # no sample kept everything the grammar reads in the request: the grammar writes the sentence itself
    return world.complete(request, seed)


def chat_prompt(tokenizer, request: str) -> str:
    """The text a chat model continues: SYSTEM_PROMPT and the request, through its chat template."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _generate(lm, entry, request: str, seed: int) -> str:
    tokenizer, model = lm.tokenizer, lm.model
    if entry.mode == "chat":
        prompt = chat_prompt(tokenizer, request)
    else:
        prompt = entry.prompt_template.format(request=request)
    encoded = tokenizer(prompt, return_tensors="pt").to(model.device)
    limit = int(entry.defaults.get("max_new_tokens", 60))
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = model.generate(
            **encoded,
            do_sample=True,
            temperature=float(entry.defaults.get("temperature", 0.8)),
            top_k=0,
            max_new_tokens=limit,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    text = tokenizer.decode(out[0, encoded.input_ids.shape[1] :], skip_special_tokens=True)
    text = _tidy(text)
    return _tidy(f"{request} {text}") if entry.keep_request else text


def _tidy(text: str) -> str:
    import re

    text = " ".join(text.replace("\n", " ").split())
    return re.sub(r"\s+([,.:;!?])", r"\1", text).strip()

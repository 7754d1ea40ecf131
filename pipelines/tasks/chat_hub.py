"""A conversation's message read by a hub model's chat model (Qwen2.5-Instruct in the registry): it gets
what the captioner reads in the current picture and the message, and answers with one JSON object, a
structured change of the scene: {"action": "draw" | "change" | "answer", "prompt", "region", "reply"}.
An answer that is not such an object gets a sentence back and draws nothing.
"""

from __future__ import annotations

import json

import torch

from pipelines.models.captioner import describe
from pipelines.tasks.edit_plan import REGIONS, region_mask, region_named
from worlds.base import ChatReading, EditResult
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

CHAT_SYSTEM_PROMPT = (
    "You keep a picture in a conversation. You get what the current picture shows (or 'no picture yet') and the "
    "person's message. Answer with one JSON object and nothing else, with the keys: action (draw: a new picture; "
    "change: change the current picture; answer: answer a question about it), prompt (for draw and change: the "
    "whole description of the picture to draw, in English), region (for change: the one part the change touches, "
    "one of " + ", ".join(REGIONS) + "), reply (one short sentence for the person, in the language of the message)."
)
GARBLED = (
    "The chat model's answer was not a change I can carry out, so nothing was drawn; say it another way, e.g. "
    "'draw a red fox in the snow' or 'make the sky purple'."
)
MAX_FIELD = 300


def read_message(cache: ModelCache, entry: ModelEntry, image, current, message: str, seed: int) -> ChatReading:
    """The message as a draw, a change or an answer, as the entry's chat model reads it."""
    expander = cache.registry.get(entry.expander) if entry.expander else None
    if expander is None or expander.mode != "chat":
        return ChatReading("refuse", f"'{entry.id}' has no chat model in the registry to read messages with.")
    seen = "no picture yet"
    if image is not None and entry.captioner:
        seen = describe(cache, entry.captioner, [image])[0]
    elif current is not None:
        seen = str(current.parameters.get("prompt") or "a picture")
    with cache.use(expander.id) as lm:
        text = _ask(lm, expander, f"Picture: {seen}\nMessage: {message}", seed)
    return reading_of(text, image, message)


def reading_of(answer: str, image, message: str) -> ChatReading:
    """The chat model's answer as a reading; a refusal when it is not a well-formed JSON change."""
    fields = _json_object(answer)
    action = fields.get("action") if fields else None
    prompt, reply = _text(fields, "prompt"), _text(fields, "reply")
    if action == "answer" and reply and image is not None:
        return ChatReading("answer", reply)
    if action == "draw" and prompt:
        return ChatReading("draw", reply or "Here it is.", request=prompt)
    if action == "change" and prompt and image is not None:
        region = fields.get("region") if fields.get("region") in REGIONS else region_named(message)
        mask = region_mask(str(region), image.size)
        return ChatReading("change", reply or "Done.", change=EditResult(prompt, str(region), mask))
    if action in ("change", "answer") and image is None:
        return ChatReading("refuse", "There is no picture yet; ask for one first.")
    return ChatReading("refuse", GARBLED)


def _json_object(text: str) -> dict:
    """The first JSON object in the text ({} when there is none)."""
    start = text.find("{")
    while start != -1:
        end = text.find("}", start)
        while end != -1:
            try:
                value = json.loads(text[start : end + 1])
                return value if isinstance(value, dict) else {}
            except ValueError:
                end = text.find("}", end + 1)
        start = text.find("{", start + 1)
    return {}


def _text(fields: dict, key: str) -> str:
    value = fields.get(key) if fields else None
    return " ".join(value.split())[:MAX_FIELD] if isinstance(value, str) else ""


def _ask(lm, expander: ModelEntry, content: str, seed: int) -> str:
    messages = [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, {"role": "user", "content": content}]
    text = lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    encoded = lm.tokenizer(text, return_tensors="pt").to(lm.model.device)
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = lm.model.generate(
            **encoded,
            do_sample=True,
            temperature=float(expander.defaults.get("temperature", 0.7)),
            max_new_tokens=int(expander.defaults.get("max_new_tokens", 77)) + 40,
            pad_token_id=lm.tokenizer.pad_token_id or lm.tokenizer.eos_token_id,
        )
    return lm.tokenizer.decode(out[0, encoded.input_ids.shape[1] :], skip_special_tokens=True)

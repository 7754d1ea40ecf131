"""What an edit redraws: the prompt, the region (a mask) and what was read from the picture.

For a model of a synthetic world the world reads the picture into its canonical sentence and
applies the instruction; the mask covers exactly the pixels the change touches. For models of the
open world the model's chat expander writes the new prompt and names one coarse region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from pipelines.models.captioner import describe
from worlds.base import World
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import ModelEntry

REGIONS = ("whole", "left", "right", "top", "bottom", "center", "background")
EDIT_SYSTEM_PROMPT = (
    "You edit pictures. You get a description of a picture and an instruction. Answer with exactly two lines: "
    "'prompt: ' and the description of the edited picture, then 'region: ' and the one part of the picture the "
    "change touches, one of: " + ", ".join(REGIONS) + "."
)
DILATE = 1 / 32  # the world's mask grows by this share of the picture's side, to cover blurred edges


@dataclass
class Plan:
    prompt: str  # what the inpainting model draws
    read: str  # what was read from the picture
    mask: np.ndarray  # bool, (height, width): the pixels redrawn
    region: str  # the change's kind (world models) or the named region (open-world models)
    target: str | None = None  # world models: the edited scene's canonical sentence, for verify


def world_plan(world: World, picture: Image.Image, instruction: str) -> Plan:
    """Reads the picture, applies the instruction in the model's world; refusals become BadInput."""
    try:
        read = world.read_picture(picture)
        result = world.edit(read, instruction)
    except ValueError as e:
        raise BadInput(str(e)) from None
    region = np.asarray(Image.fromarray(result.region).resize(picture.size, Image.Resampling.NEAREST))
    return Plan(result.sentence, read, dilate(region, round(DILATE * max(picture.size))), result.kind, result.sentence)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask grown by `radius` pixels in every direction (a square neighbourhood)."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    padded = np.pad(mask, radius)
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy : dy + height, dx : dx + width]
    return out


def region_mask(region: str, size: tuple[int, int]) -> np.ndarray:
    """A coarse mask for a named region: halves of the picture, its middle, everything but the middle
    ('background', as an open-world model cannot tell objects apart), or the whole."""
    width, height = size
    mask = np.zeros((height, width), bool)
    middle = (slice(height // 4, height - height // 4), slice(width // 4, width - width // 4))
    if region == "left":
        mask[:, : width // 2] = True
    elif region == "right":
        mask[:, width // 2 :] = True
    elif region == "top":
        mask[: height // 2] = True
    elif region == "bottom":
        mask[height // 2 :] = True
    elif region == "center":
        mask[middle] = True
    elif region == "background":
        mask[:] = True
        mask[middle] = False
    else:
        mask[:] = True
    return mask


def hub_plan(cache: ModelCache, entry: ModelEntry, picture: Image.Image, instruction: str, seed: int) -> Plan:
    """The captioner reads the picture; the chat expander writes the edited prompt and names the region.
    What the expander leaves unsaid falls back to the caption with the instruction, and to the region the
    instruction's own words name (the whole picture when none)."""
    read = ""
    if entry.captioner:
        read = describe(cache, entry.captioner, [picture])[0]
    answer = _ask_expander(cache, entry, read, instruction, seed) if entry.expander else ""
    prompt, region = parse_answer(answer)
    prompt = prompt or (f"{read}, {instruction}" if read else instruction)
    region = region or region_named(instruction)
    return Plan(prompt, read, region_mask(region, picture.size), region)


def parse_answer(answer: str) -> tuple[str, str | None]:
    """(the 'prompt:' line, the 'region:' line when it names one of REGIONS) of an expander's answer."""
    prompt = re.search(r"prompt:\s*(.+)", answer, re.IGNORECASE)
    region = re.search(r"region:\s*([a-z]+)", answer, re.IGNORECASE)
    named = region.group(1).lower() if region else None
    return (" ".join(prompt.group(1).split())[:300] if prompt else "", named if named in REGIONS else None)


def region_named(instruction: str) -> str:
    words = set(re.findall(r"[a-z]+", instruction.lower()))
    for region in ("background", "left", "right", "top", "bottom", "center"):
        if region in words or (region == "center" and words & {"middle", "centre"}):
            return region
    return "whole"


def _ask_expander(cache: ModelCache, entry: ModelEntry, read: str, instruction: str, seed: int) -> str:
    if not entry.expander:
        return ""
    expander = cache.registry.get(entry.expander)
    if expander.mode != "chat":
        return ""  # completion models continue prompts; they cannot be asked to name a region
    with cache.use(expander.id) as lm:
        messages = [
            {"role": "system", "content": EDIT_SYSTEM_PROMPT},
            {"role": "user", "content": f"Picture: {read or 'unknown'}\nInstruction: {instruction}"},
        ]
        text = lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        encoded = lm.tokenizer(text, return_tensors="pt").to(lm.model.device)
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = lm.model.generate(
                **encoded,
                do_sample=True,
                temperature=float(expander.defaults.get("temperature", 0.7)),
                max_new_tokens=int(expander.defaults.get("max_new_tokens", 77)),
                pad_token_id=lm.tokenizer.pad_token_id or lm.tokenizer.eos_token_id,
            )
    return lm.tokenizer.decode(out[0, encoded.input_ids.shape[1] :], skip_special_tokens=True)

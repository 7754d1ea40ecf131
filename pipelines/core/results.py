"""The typed values the pipelines share: what a run asks for, and the pictures it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

AUTO = "auto"  # expand with the model's own expander where the model needs it (non-canonical world requests)
NONE = "none"  # draw the text as it is


@dataclass(frozen=True)
class GenerateRequest:
    """Everything /generate, the CLI and evaluate may ask of text to image; None means the model's default."""

    prompt: str
    negative_prompt: str = ""
    model: str | None = None
    expand_with: str = AUTO  # AUTO, NONE or a prompt-expansion model id
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None  # None: a random one
    num_images: int = 1
    verify: int | None = None  # candidates per round; None or 0: plain generation
    rounds: int = 2
    draw_as_is: bool = False  # the prompt was written (or edited) by the person: no expansion
    explain: bool = False  # also make each word's attention map (pipelines/models/explain.py)
    lora: str | None = None  # a LoRA adapter's registry id (pipelines/core/adapters.py)
    lora_scale: float | None = None  # None: the adapter's default scale
    decode: str | None = None  # "fast" (the tiny autoencoder), "full", or None: the machine's default


@dataclass
class Picture:
    image: Image.Image
    parameters: dict  # ready for the PNG `parameters` chunk (pipelines.metadata)
    caption: str | None = None
    score: float | None = None
    receipt: list[dict] | None = None  # per stated attribute: wanted, seen, ok (pipelines/receipt.py)
    words: list | None = None  # WordMap per word of the prompt when explained (pipelines/models/word_maps.py)
    latents: str | None = None  # decoded fast: the key of its kept latents, for a full decode later


@dataclass
class Round:
    prompt: str
    seeds: list[int]
    captions: list[str]
    scores: list[float]
    prompts: list[str] = field(default_factory=list)  # each candidate's prompt (readings of `prompt`)
    missed: list[str] = field(default_factory=list)  # attributes the round's best candidate missed


@dataclass
class Generation:
    pictures: list[Picture]
    used_prompt: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def images(self) -> list[Image.Image]:
        return [p.image for p in self.pictures]

    @property
    def parameters(self) -> list[dict]:
        return [p.parameters for p in self.pictures]

    def checks(self) -> dict:
        """What verify-and-refine saw, for the parameters view and results.jsonl ({} for plain runs)."""
        if not self.rounds:
            return {}
        return {
            "captions": [p.caption for p in self.pictures],
            "scores": [p.score for p in self.pictures],
            "receipts": [p.receipt for p in self.pictures],
            "rounds": [vars(r) for r in self.rounds],
        }


@dataclass
class Stylized:
    picture: Picture
    used_prompt: str
    caption: str | None

    @property
    def image(self) -> Image.Image:
        return self.picture.image

    @property
    def parameters(self) -> dict:
        return self.picture.parameters


def png_parameters(
    prompt: str, request: str, model: str, seed: int, sampler: str | None, settings: dict, **more
) -> dict:
    """The one record of how a picture was made. `request` is kept whenever it differs from the prompt."""
    return {
        "prompt": prompt,
        "negative_prompt": more.pop("negative_prompt", ""),
        "request": request if request != prompt else None,
        "sampler": sampler,
        "seed": seed,
        "model": model,
        **settings,
        **more,
    }

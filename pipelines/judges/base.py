"""What every judge answers, and what it answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from pipelines.core.results import Picture
from worlds.base import World
from zoo.registry import ModelEntry

Receipt = list[dict]  # rows {'attribute', 'wanted', 'seen', 'ok'} (pipelines/judges/receipt.py)


@dataclass
class Verdict:
    """What a judge saw in one picture: its caption (None where the judge reads no caption), its receipt, and a
    score in [0, 1] (higher: closer to the request)."""

    caption: str | None
    receipt: Receipt
    score: float


class Judge(Protocol):
    @property
    def entry(self) -> ModelEntry: ...

    @property
    def world(self) -> World | None:
        """The world's reader, for the tasks that work in the world (edit, restyle, fidelity); None: open world."""
        ...

    def needs_expansion(self, request: str) -> bool:
        """Whether the model cannot draw `request` as written (a world model's non-canonical request)."""
        ...

    def readings(self, prompt: str) -> list[str]:
        """The prompts candidates of `prompt` are drawn with (a world's other canonical sentences)."""
        ...

    def check(self, request: str, images: list[Image.Image], captions: list | None = None) -> list[Receipt]:
        """One receipt per picture: the request's stated attributes, seen or not."""
        ...

    def judge(self, request: str, images: list[Image.Image]) -> list[Verdict]:
        """Reads each picture, checks it against the request and scores it."""
        ...

    def describe(self, image: Image.Image) -> str:
        """What the picture shows, in words (shown under the best candidate)."""
        ...

    def propose(
        self, request: str, used: str, pictures: list[Picture], best: Picture, expander: str | None, seed: int
    ) -> str:
        """The next round's prompt, acting on what the best candidate missed."""
        ...

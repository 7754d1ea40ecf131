"""The interface every synthetic world offers the pipelines."""
from __future__ import annotations

from typing import Any, Protocol


class World(Protocol):
    name: str

    def is_canonical(self, text: str) -> bool:
        """Whether the text is one of the world's canonical sentences."""

    def agreement(self, request: str, text: str) -> float:
        """-1 when `text` is not canonical, else the share of what `request` states that `text` keeps."""

    def restyle(self, sentence: str, style_request: str) -> str | None:
        """The canonical sentence in the style `style_request` names; None when `sentence` is not
        canonical. Raises ValueError, with a sentence for the person, when no style is named."""

    def fidelity(self, prompts: list[str], pictures: list[Any]) -> dict:
        """Per-attribute and whole-scene accuracy of pictures drawn for prompts."""

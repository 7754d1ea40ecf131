"""The interface every synthetic world offers the pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class EditResult:
    sentence: str  # the edited scene's canonical sentence
    kind: str  # the kind of change: colour, shape, size, remove, background or style
    region: Any  # bool array over the world's canvas (rows, columns): the pixels that must be redrawn


@dataclass(frozen=True)
class ChatReading:
    """One message of a conversation read against the current scene (World.converse)."""

    action: str  # draw, change, answer or refuse
    reply: str  # for the person, in the message's language; for draw, the lead of the sentence naming the picture
    request: str | None = None  # draw: the request to draw
    change: EditResult | None = None  # change: the edited scene and the pixels to redraw
    focus: str | None = None  # what the conversation is about afterwards ("it"), in the world's own terms


class World(Protocol):
    name: str
    palette: dict[str, tuple[int, int, int]]  # the flat colours objects are drawn in, by the words naming them

    def is_canonical(self, text: str) -> bool:
        """Whether the text is one of the world's canonical sentences."""

    def agreement(self, request: str, text: str) -> float:
        """-1 when `text` is not canonical, else the share of what `request` states that `text` keeps."""

    def restyle(self, sentence: str, style_request: str) -> str | None:
        """The canonical sentence in the style `style_request` names; None when `sentence` is not
        canonical. Raises ValueError, with a sentence for the person, when no style is named."""

    def complete(self, request: str, seed: int) -> str:
        """The canonical sentence stating what the world's grammar reads in `request`, the rest drawn from seed."""

    def fidelity(self, prompts: list[str], pictures: list[Any]) -> dict:
        """Per-attribute and whole-scene accuracy of pictures drawn for prompts."""

    def read_picture(self, image: Any) -> str:
        """The canonical sentence of what a picture shows. Raises ValueError, with a sentence for the
        person, when the picture is not one of the world's scenes."""

    def check(self, request: str, image: Any) -> list[dict]:
        """The picture read against the request: for each stated attribute, and the object count, a row
        {'attribute', 'wanted', 'seen', 'ok'} (seen None where nothing was there to see)."""

    def readings(self, prompt: str) -> list[str]:
        """The prompt's equivalent canonical sentences, the prompt first ([prompt] when not canonical)."""

    def refine(self, request: str, prompt: str, missed: list[str], seed: int) -> str:
        """The next round's prompt after the attributes `missed` (check's names) failed: it keeps every
        attribute the request states and changes what the world judges likely to help."""

    def reference(self, prompt: str, seed: int = 0) -> Any:
        """The world's own rendering of what the prompt asks for (unstated attributes chosen by `seed`)."""

    def edit(self, sentence: str, instruction: str) -> EditResult:
        """The scene `sentence` describes, edited as `instruction` asks. Raises ValueError, with one
        sentence for the person, when the instruction cannot be carried out."""

    def converse(self, scene: str | None, message: str, focus: str | None, seed: int = 0) -> ChatReading:
        """A message of a conversation read against `scene` (the canonical sentence of the current picture as
        read, None when there is none) and `focus` (what "it" names, from the previous reading): a new picture,
        a change, an answer, or a refusal that says why. Unstated choices are drawn from seed."""

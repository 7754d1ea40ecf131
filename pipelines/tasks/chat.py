"""A conversation that draws, changes, answers, undoes and redoes.

`say(cache, conversation, message)` reads one message against the current picture and carries it out:
a new picture (verify-and-refine on models of a world), a change made through the edit path (only the
changed region is redrawn; the rest stays pixel for pixel), an answer read from the current picture (the
world's scene parser, never memory), or undo / redo, which give back the kept pictures bit for bit.
Models of a world read messages through World.converse; hub models through their chat model
(pipelines/chat_hub.py). A message that cannot be carried out gets a sentence and draws nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from pipelines.core import inputs
from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest, png_parameters
from pipelines.core.settings import settings
from pipelines.judges import judge_for
from pipelines.tasks.edit import STRENGTH, redraw
from pipelines.tasks.generate import run
from worlds.base import ChatReading, EditResult
from zoo.cache import ModelCache
from zoo.registry import ModelEntry

ACTIONS = ("draw", "change", "answer", "undo", "redo", "refuse")
CANDIDATES = 4  # per round, on draws and changes of a world model
ROUNDS = 3
DRAW_TRIES = 3  # verify runs on a world's draw until one picture reads as a whole scene
UNDO = re.compile(
    r"^(?:(?:no|please|ok|okay|can you|could you|oops) )*(?:undo|go back|revert|take (?:that|it) back|back)"
    r"(?: (?:that|it|the last (?:change|step|one)|last|please|to the previous picture))*$"
    r"|^(?:请|不对)?(?:撤销|撤消|撤回|回到上一步|返回上一步|退回上一步|上一步|撤销上一步|取消上一步)(?:吧|一下)?$"
)
REDO = re.compile(
    r"^(?:(?:please|ok|okay|can you|could you) )*(?:redo|do (?:that|it) again|put it back|forward)"
    r"(?: (?:that|it|please|the change))*$"
    r"|^(?:请)?(?:重做|恢复)(?:吧|一下)?$"
)
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Snapshot:
    image: Image.Image
    parameters: dict  # for the PNG `parameters` chunk
    turn: int  # the turn that made it


@dataclass
class Conversation:
    pictures: list[Snapshot] = field(default_factory=list)
    at: int = -1  # the current picture's index; -1 before the first
    focus: str | None = None  # what "it" names: the conversation's, kept across undo and redo
    turns: list[dict] = field(default_factory=list)  # {turn, message, action, reply, picture (index or None)}

    @property
    def current(self) -> Snapshot | None:
        return self.pictures[self.at] if self.at >= 0 else None


def say(
    cache: ModelCache,
    conversation: Conversation,
    message: str,
    model_id: str | None = None,
    seed: int | None = None,
    candidates: int = CANDIDATES,
    steps: int | None = None,
    control: RunControl | None = None,
) -> dict:
    """Carries out one message; the conversation grows by one turn, which is returned."""
    message = inputs.prompt(message, "message")
    entry = cache.registry.pick(model_id, "text-to-image")
    world = judge_for(cache, entry).world
    seed = inputs.offset_seed(inputs.seed(seed), 1000 * len(conversation.turns))
    candidates = inputs.number(candidates, "Candidates", 0, 8, integer=True)
    step = _step(message)
    if step:
        action, reply = _undo_redo(conversation, step, _chinese(message))
        return _record(conversation, message, action, reply, conversation.at if action != "refuse" else None)
    reading = _read(cache, entry, world, conversation, message, seed)
    if reading.action == "draw":
        snapshot, reply = _draw(cache, entry, world, reading, message, seed, candidates, steps, control)
        conversation.focus = None
        return _add(conversation, message, "draw", reply, snapshot)
    if reading.action == "change" and reading.change is not None and conversation.current is not None:
        current = conversation.current
        snapshot, reply = _change(cache, entry, world, current, reading, message, (seed, candidates, steps), control)
        conversation.focus = reading.focus
        return _add(conversation, message, "change", reply, snapshot)
    if reading.action == "answer":
        conversation.focus = reading.focus
    action = reading.action if reading.action in ("answer", "refuse") else "refuse"
    return _record(conversation, message, action, reading.reply, None)


def turn(cache: ModelCache, conversation: Conversation, message: str, model_id=None, seed=None, control=None):
    """(the conversation, the turn) after `message`: what a Backend hands back, in process or from a replica."""
    row = say(cache, conversation, message, model_id, seed, control=control)
    return conversation, row


def _read(cache: ModelCache, entry: ModelEntry, world, conversation: Conversation, message: str, seed: int):
    """The message read against the current picture (as the world's scene parser reads it)."""
    current = conversation.current
    if world is None:
        from pipelines.tasks.chat_hub import read_message

        return read_message(cache, entry, current.image if current else None, current, message, seed)
    read, unreadable = None, None
    if current is not None:
        try:
            read = world.read_picture(current.image)
        except ValueError as e:
            unreadable = str(e)
    reading = world.converse(read, message, conversation.focus if read else None, seed)
    if unreadable and reading.action != "draw":  # nothing to change or ask about: only a new picture helps
        reading = ChatReading("refuse", f"{unreadable} Undo, or ask for a new picture.")
    return reading


def _draw(cache, entry, world, reading: ChatReading, message: str, seed, candidates, steps, control):
    """A new picture: verify-and-refine on a world's model (candidates checked by its scene parser)."""
    request = reading.request or message
    checked = world is not None and candidates and entry.captioner
    for attempt in range(DRAW_TRIES if world is not None else 1):
        job = GenerateRequest(
            request,
            model=entry.id,
            steps=steps,
            seed=inputs.offset_seed(seed, 7919 * attempt),
            verify=candidates if checked else None,
            rounds=ROUNDS,
            draw_as_is=world is None,  # a hub chat model wrote the prompt
        )
        pictures = run(cache, job, control).pictures  # verify: those that passed first
        # what the request leaves open must still read as a scene (one style), or no later turn could use it
        readable = [(p, read) for p in pictures if (read := _reading(world, p.image))]
        if readable or world is None:
            break
    picture, read = readable[0] if readable else (pictures[0], None)
    reply = reading.reply
    if world is not None:
        reply = f"{reading.reply} {read}." if read else f"{reading.reply} (the picture does not read as a scene; undo)"
    return Snapshot(picture.image, picture.parameters, 0), reply


def _reading(world, image: Image.Image) -> str | None:
    if world is None:
        return None
    try:
        return world.read_picture(image)
    except ValueError:
        return None


def _change(cache, entry, world, current: Snapshot, reading: ChatReading, message, how: tuple, control):
    """The current picture with exactly the change's region redrawn, through the edit path's inpainting; with
    candidates, up to ROUNDS batches until one reads as the changed scene."""
    seed, candidates, steps = how
    change: EditResult = reading.change  # type: ignore[assignment]
    run_settings = settings(entry, steps)
    picture = current.image.convert("RGB")
    if picture.size != (run_settings["width"], run_settings["height"]):
        picture = picture.resize((run_settings["width"], run_settings["height"]), Image.Resampling.LANCZOS)
    # the region exactly, not grown as the Edit tab grows it: bench/chat_quality.py, 16 conversations, every
    # change right either way, and the pixels outside the changed objects changed by 0.51 (grown 2 px) or 0
    mask = _at_size(change.region, picture.size)
    count, rounds = (candidates, ROUNDS) if world is not None and candidates else (1, 1)
    for round_index in range(rounds):
        seeds = [inputs.offset_seed(seed, round_index * count + i) for i in range(count)]
        images, sampler = redraw(cache, entry, picture, mask, change.sentence, seeds, run_settings, STRENGTH, control)
        right = [world is None or _reads_as(world, image, change.sentence) for image in images]
        if any(right):
            break
    kept = right.index(True) if any(right) else 0
    params = png_parameters(change.sentence, message, entry.id, seeds[kept], sampler, run_settings, strength=STRENGTH)
    reply = reading.reply if any(right) else f"{reading.reply} (the redrawn picture does not read quite right; undo)"
    return Snapshot(images[kept], params | {"request": message}, 0), reply


def _at_size(mask, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.asarray(mask, bool)).resize(size, Image.Resampling.NEAREST))


def _reads_as(world, image: Image.Image, sentence: str) -> bool:
    try:
        return world.agreement(sentence, world.read_picture(image)) == 1.0
    except ValueError:
        return False


def _step(message: str) -> str | None:
    text = " ".join(re.sub(r"[^\w\s]", " ", message.lower()).split())
    return "undo" if UNDO.match(text) else "redo" if REDO.match(text) else None


def _chinese(message: str) -> bool:
    return len(CJK.findall(message)) > len(re.findall(r"[A-Za-z]{2,}", message))


def _undo_redo(conversation: Conversation, step: str, zh: bool) -> tuple[str, str]:
    """(action, reply): the kept picture before (undo) or after (redo) the current one, or a refusal."""
    target = conversation.at + (-1 if step == "undo" else 1)
    if step == "undo" and target < 0:
        return "refuse", "还没有可以撤销的。" if zh else "There is nothing before this picture to go back to."
    if step == "redo" and target >= len(conversation.pictures):
        return "refuse", "没有可以重做的。" if zh else "There is nothing to redo."
    conversation.at = target
    if step == "undo":
        return "undo", "已撤销，回到上一张。" if zh else "Undone: back to the previous picture."
    return "redo", "已重做。" if zh else "Redone: the change is back."


def _add(conversation: Conversation, message: str, action: str, reply: str, snapshot: Snapshot) -> dict:
    """A new picture after the current one (what undo had left to redo is dropped)."""
    del conversation.pictures[conversation.at + 1 :]
    snapshot.turn = len(conversation.turns) + 1
    conversation.pictures.append(snapshot)
    conversation.at = len(conversation.pictures) - 1
    return _record(conversation, message, action, reply, conversation.at)


def _record(conversation: Conversation, message: str, action: str, reply: str, picture: int | None) -> dict:
    row = {
        "turn": len(conversation.turns) + 1,
        "message": message,
        "action": action,
        "reply": reply,
        "picture": picture,
    }
    conversation.turns.append(row)
    return row

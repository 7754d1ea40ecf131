"""`python -m pipelines chat SCRIPT`: one message per line of SCRIPT, carried out in turn; DIR/turns.jsonl gets
one row per message (turn, message, action, reply, image: the picture's file in DIR, or null) and DIR/NNNN.png
each new picture (NNNN: the turn that made it). Undo and redo name the kept file they went back to."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import tqdm

from pipelines.core.metadata import save_png
from pipelines.tasks.chat import Conversation, say
from zoo.errors import AtelierError


def picture_name(turn: int) -> str:
    return f"{turn:04d}.png"


def run_script(cache, script: str, out: Path, args) -> None:
    messages = [line.strip() for line in script.splitlines() if line.strip()]
    if not messages:
        raise AtelierError("The script holds no messages; write one message per line.")
    conversation = Conversation()
    with open(out / "turns.jsonl", "w", encoding="utf-8") as turns:
        for message in tqdm(messages, desc="chat", unit="message"):
            try:
                row = say(cache, conversation, message, args.model, args.seed, args.verify, args.steps)
            except AtelierError as e:  # this message cannot be carried out: say why and go on
                row = {"turn": len(conversation.turns) + 1, "message": message, "action": "refuse", "reply": str(e)}
                conversation.turns.append(row | {"picture": None})
                row["picture"] = None
            image = None
            if row["picture"] is not None:
                snapshot = conversation.pictures[row["picture"]]
                image = picture_name(snapshot.turn)
                if snapshot.turn == row["turn"]:
                    save_png(snapshot.image, out / image, snapshot.parameters)
            line = {k: row[k] for k in ("turn", "message", "action", "reply")} | {"image": image}
            turns.write(json.dumps(line, ensure_ascii=False) + "\n")
            turns.flush()

"""Conversations with the starter model through `python -m pipelines chat`, scored with the world's scene
parser: the share of turns whose picture (or answer, or refusal) is right, of conversations right at every
turn, the mean pixel change outside the changed objects on change turns, undo/redo bit-identity,
question accuracy and refusals.

    python -m bench.chat_quality [--seed 7] [--verify 4] [--only N]

The conversations (bench/chat_conversations.py: 30 English, 10 Chinese) state what must follow each
message in the contract's terms; a turn's expected scene is computed from the previous picture's reading
with worlds/shapes/edits.py (the contract's edit table), never from the conversation reader.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

from bench.chat_conversations import CHINESE, ENGLISH
from pipelines.chat_cli import run_script
from worlds.shapes.edits import apply
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import (
    CANVAS,
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    STYLES,
    WHERE,
    Scene,
    parse_sentence,
    reading_order,
    sentence,
    shape_mask,
)
from zoo.cache import ModelCache
from zoo.registry import load_registry

MODEL = "starter/shapes-diffusion"


def stated(text: str) -> tuple[list[dict], dict]:
    """The objects and scene attributes an expectation like 'large red circle left blue square right
    white background flat' states (a canonical sentence works too)."""
    scene = parse_sentence(text)
    if scene is not None:
        return [vars(o) for o in scene.objects], {"background": scene.background, "style": scene.style}
    words = text.replace(",", " ").split()
    objects: list[dict] = [{}]
    extra = {}
    for i, w in enumerate(words):
        if i + 1 < len(words) and words[i + 1] == "background":
            extra["background"] = w
        elif w in STYLES:
            extra["style"] = w
        elif w in POSITIONS:
            objects[-1]["position"] = w
        elif w in SIZES or w in COLOURS or w in SHAPES:
            key = "size" if w in SIZES else "colour" if w in COLOURS else "shape"
            if key in objects[-1] or "position" in objects[-1]:
                objects.append({})
            objects[-1][key] = w
    return [o for o in objects if o], extra


def shows(scene: Scene, text: str) -> bool:
    """Whether the scene read from a picture is a whole scene of the world with every stated attribute."""
    try:
        scene.validate()  # one style, one or two objects of different colours on opposite sides
    except ValueError:
        return False
    objects, extra = stated(text)
    if len(scene.objects) != len(objects) or any(getattr(scene, k) != v for k, v in extra.items()):
        return False
    return any(
        all(getattr(o, k) == v for o, want in zip(perm, objects) for k, v in want.items())
        for perm in itertools.permutations(scene.objects)
    )


def outside_change(before: Image.Image, after: Image.Image, old: Scene, new: Scene) -> float:
    """Mean absolute change (0-255) of the pixels outside every object that changed (old or new footprint);
    for a background change, of the objects' pixels; for a style change nothing is outside."""
    changed = set(old.objects) ^ set(new.objects)
    region = np.zeros((CANVAS, CANVAS), bool)
    for o in changed:
        region |= shape_mask(o.shape, o.size, o.position, "flat")
    if old.background != new.background:
        drawn = np.zeros((CANVAS, CANVAS), bool)
        for o in old.objects:
            drawn |= shape_mask(o.shape, o.size, o.position, old.style)
        region |= ~drawn
    if old.style != new.style:
        return 0.0
    delta = np.abs(np.asarray(after, np.int16) - np.asarray(before, np.int16)).mean(axis=2)
    return float(delta[~region].mean()) if (~region).any() else 0.0


def expected_answer(kind: str, ref: dict, scene: Scene) -> list[str]:
    """Words one of which the reply must hold."""
    if kind == "scene":
        return [sentence(scene).lower()]
    if kind == "count":
        return ["two", "2", "两"] if len(scene.objects) == 2 else ["one", "1", "一"]
    if kind in ("background", "style"):
        return [getattr(scene, kind)]
    found = [o for o in scene.objects if all(getattr(o, k) == v for k, v in ref.items())]
    if kind == "exists":
        return ["yes", "有"] if found else ["no", "没有"]
    if len(found) != 1:
        return []
    value = getattr(found[0], kind)
    return [WHERE[value]] if kind == "position" else [value]


def score_conversation(turns: list[dict], expectations: list[tuple], folder: Path) -> list[dict]:
    """One row per turn: {'kind', 'right', and for changes 'outside'}."""
    kept: list[Image.Image] = []
    at, scene, picture, rows = -1, None, None, []
    for turn, expect in zip(turns, expectations):
        kind, row = expect[0], {"kind": expect[0], "turn": turn}
        image = Image.open(folder / turn["image"]).convert("RGB") if turn["image"] else None
        seen = parse_image(image) if image is not None else None
        if kind == "refuse":
            row["right"] = turn["action"] == "refuse" and image is None and bool(turn["reply"])
        elif kind in ("undo", "redo"):
            target = at + (-1 if kind == "undo" else 1)
            ok = image is not None and 0 <= target < len(kept)
            row["right"] = ok and np.array_equal(np.asarray(image), np.asarray(kept[target]))
            at = target if ok else at
        elif kind == "ask":
            words = expected_answer(expect[1], expect[2], scene) if scene else []
            row["right"] = image is None and any(w in turn["reply"].lower() for w in words)
        elif image is None or seen is None:
            row["right"] = False
        else:
            if kind == "edit" and scene is not None:
                want = reading_order(apply(scene, expect[1]).scene)
                row["right"] = seen == want
                row["outside"] = outside_change(picture, image, scene, want)
            else:
                row["right"] = shows(seen, expect[1])
                if scene is not None and picture is not None and turn["action"] == "change":
                    row["outside"] = outside_change(picture, image, scene, seen)
            del kept[at + 1 :]
            kept.append(image)
            at = len(kept) - 1
        if image is not None:
            picture, scene = image, parse_image(image)
        rows.append(row)
    return rows


def run(cache, conversations, seed: int, verify: int) -> list[list[dict]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, conversation in enumerate(conversations):
            folder = Path(tmp) / f"{index:02d}"
            folder.mkdir()
            script = "\n".join(message for message, _ in conversation)
            args = SimpleNamespace(model=MODEL, seed=seed + index, verify=verify, steps=None)
            run_script(cache, script, folder, args)
            turns = [json.loads(line) for line in (folder / "turns.jsonl").read_text(encoding="utf-8").splitlines()]
            results.append(score_conversation(turns, [e for _, e in conversation], folder))
    return results


def report(name: str, results: list[list[dict]]) -> None:
    rows = [r for conversation in results for r in conversation]
    share = lambda rs: (
        f"{sum(r['right'] for r in rs)} / {len(rs)} ({100 * sum(r['right'] for r in rs) / max(len(rs), 1):.1f} %)"
    )  # noqa: E731
    outside = [r["outside"] for r in rows if "outside" in r]
    print(
        f"| {name} | turns right {share(rows)} | conversations right at every turn "
        f"{sum(all(r['right'] for r in c) for c in results)} / {len(results)} |"
    )
    for kind in ("draw", "scene", "edit", "ask", "undo", "redo", "refuse"):
        of_kind = [r for r in rows if r["kind"] == kind]
        if of_kind:
            print(f"|   {kind} | {share(of_kind)} | |")
    if outside:
        print(
            f"|   pixel change outside the changed objects (0-255), mean / max over {len(outside)} changes | "
            f"{np.mean(outside):.3f} / {max(outside):.3f} | target mean <= 1 |"
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--verify", type=int, default=4)
    p.add_argument("--only", type=int, help="the first N conversations of each language")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cache = ModelCache(load_registry(), device="cpu", budget_gb=2)
    started = time.perf_counter()
    english = run(cache, ENGLISH[: args.only], args.seed, args.verify)
    chinese = run(cache, CHINESE[: args.only], args.seed + 100, args.verify)
    seconds = time.perf_counter() - started
    turns = sum(len(c) for c in english + chinese)
    print(
        f"{MODEL}, verify {args.verify}, seed {args.seed}: {turns} turns in {seconds:.0f} s "
        f"({seconds / turns:.2f} s per turn, {torch.get_num_threads()} CPU thread)"
    )
    report("English", english)
    report("Chinese", chinese)
    report("all", english + chinese)
    for conversation in english + chinese:
        for row in conversation:
            if not row["right"]:
                t = row["turn"]
                print(f"wrong: turn {t['turn']} {t['message']!r} -> {t['action']}: {t['reply']}")


if __name__ == "__main__":
    main()

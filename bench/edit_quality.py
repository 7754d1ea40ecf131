"""Edits by instruction with the starter model: for each kind of change, the share of edits that come
out right (the scene parser reads the result as the edited scene) and the mean absolute pixel change
outside the edited region; then the refusals (nothing may be drawn for them).

    python -m bench.edit_quality [--per-kind 40] [--seed 4242] [--verify 1] [--steps 4]

Cases: scenes drawn by worlds.shapes.world.random_scene with --seed (the trainers use seeds 0..9) and
rendered exactly; the instruction forms and references are picked at random from the contract's.
The diffusion model was never trained on edits; some scenes fall in the held-out split (counted).
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from pipelines.tasks.edit import edit
from worlds.shapes.edits import apply
from worlds.shapes.requests import COLOUR_WORDS, SHAPE_WORDS, WHERE_WORDS
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import (
    BACKGROUNDS,
    COLOURS,
    SHAPES,
    Scene,
    held_out,
    parse_sentence,
    random_scene,
    reading_order,
    render_pil,
)
from zoo.cache import ModelCache
from zoo.errors import BadInput
from zoo.registry import load_registry

MODEL = "starter/shapes-diffusion"
KINDS = ("colour", "shape", "size", "remove", "background", "style")


def reference(scene: Scene, index: int, rng: random.Random) -> str:
    """One way of naming object `index` of the scene that names it alone."""
    o = scene.objects[index]
    forms = [
        f"the {rng.choice(COLOUR_WORDS[o.colour])} {rng.choice(SHAPE_WORDS[o.shape])}",
        f"the {rng.choice(COLOUR_WORDS[o.colour])} one",
        f"the object {rng.choice(WHERE_WORDS[o.position])}",
    ]
    if o.position != "center":
        forms.append(f"the {o.position} one")
    if sum(p.shape == o.shape for p in scene.objects) == 1:
        forms.append(f"the {rng.choice(SHAPE_WORDS[o.shape])}")
    return rng.choice(forms)


def instruction(kind: str, scene: Scene, rng: random.Random) -> str:
    """An instruction of the kind that changes the scene and that the world accepts."""
    index = rng.randrange(len(scene.objects))
    o, ref = scene.objects[index], reference(scene, index, rng)
    if kind == "colour":
        colour = rng.choice([c for c in COLOURS if all(p.colour != c for p in scene.objects)])
        return f"{rng.choice(['make', 'turn', 'colour'])} {ref} {rng.choice(COLOUR_WORDS[colour])}"
    if kind == "shape":
        shape = rng.choice(SHAPE_WORDS[rng.choice([s for s in SHAPES if s != o.shape])])
        article = "an" if shape[0] in "aeiou" else "a"
        return rng.choice([f"turn {ref} into {article} {shape}", f"replace {ref} with {article} {shape}"])
    if kind == "size":
        return f"make {ref} " + (rng.choice(["bigger", "larger"]) if o.size == "small" else "smaller")
    if kind == "remove":
        return f"{rng.choice(['remove', 'delete'])} {ref}"
    if kind == "background":
        word = rng.choice([b for b in BACKGROUNDS if b != scene.background] + ["grey"] * (scene.background != "gray"))
        return f"make the background {word}"
    return "make it " + rng.choice(["flat", "filled"] if scene.style == "outline" else ["outline", "outlined"])


def cases(kind: str, n: int, rng: random.Random) -> list[tuple[Scene, str]]:
    scenes = [random_scene(rng, 2 if kind == "remove" else None) for _ in range(n)]
    return [(scene, instruction(kind, scene, rng)) for scene in scenes]


def score_kind(cache, kind: str, n: int, seed: int, verify: int, steps: int | None, strength: float | None) -> dict:
    rng = random.Random(f"{seed}-{kind}")
    right, outside, seen_held_out = [], [], 0
    for i, (scene, text) in enumerate(cases(kind, n, rng)):
        picture = render_pil(scene)
        wanted = apply(scene, text).scene
        result = edit(cache, picture, text, MODEL, seed=seed + 100 * i, steps=steps, verify=verify, strength=strength)
        right.append(parse_image(result.image) == reading_order(wanted))  # the parser reads in reading order
        mask = np.asarray(result.mask) > 0
        change = np.abs(np.asarray(result.image, np.int16) - np.asarray(picture, np.int16))
        outside.append(float(change[~mask].mean()) if (~mask).any() else 0.0)
        seen_held_out += held_out(scene) or held_out(wanted)
    return {"right": sum(right) / len(right), "outside": sum(outside) / len(outside), "n": n, "held_out": seen_held_out}


REFUSALS = [
    (
        "a large red circle on the left and a small blue cross on the right on a gray background, flat style",
        "make the triangle green",
        "There is no triangle",
    ),
    (
        "a large red circle on the left and a small blue circle on the right on a gray background, flat style",
        "make the circle green",
        "There are two circles",
    ),
    ("a small green triangle at the top on a white background, flat style", "remove the triangle", "only this one"),
    (
        "a large red circle on the left and a small blue cross on the right on a gray background, flat style",
        "make the circle blue",
        "already blue",
    ),
    ("a small green triangle at the top on a white background, outline style", "rotate it please", "not an edit"),
    (
        "a small green triangle at the top on a white background, outline style",
        "make the object in the center red",
        "no object in the center",
    ),
]


def refusals(cache) -> tuple[int, int]:
    """(refusals that came back as BadInput with the expected sentence and nothing drawn, refusals tried)."""
    drawn, ok = [], 0
    cache.use_inpaint = lambda model_id, use=cache.use_inpaint: drawn.append(model_id) or use(model_id)
    try:
        for text, instruction_text, words in REFUSALS:
            before = len(drawn)
            try:
                edit(cache, render_pil(parse_sentence(text)), instruction_text, MODEL, seed=0)
            except BadInput as e:
                ok += words in str(e) and len(drawn) == before
    finally:
        del cache.use_inpaint
    return ok, len(REFUSALS)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-kind", type=int, default=40)
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--verify", type=int, default=1)
    p.add_argument("--steps", type=int)
    p.add_argument("--strength", type=float)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cache = ModelCache(load_registry(), device="cpu", budget_gb=2)
    started = time.perf_counter()
    rows = {
        kind: score_kind(cache, kind, args.per_kind, args.seed, args.verify, args.steps, args.strength)
        for kind in KINDS
    }
    seconds = time.perf_counter() - started
    total = sum(r["right"] * r["n"] for r in rows.values()) / sum(r["n"] for r in rows.values())
    print(
        f"{MODEL}, {args.per_kind} cases per kind (seed {args.seed}), verify {args.verify}, steps "
        f"{args.steps or 'default'}, strength {args.strength or 'default'}; "
        f"{seconds / (len(KINDS) * args.per_kind):.2f} s per edit on {torch.get_num_threads()} CPU thread(s)"
    )
    print("| kind | right | target | mean abs pixel change outside the region | scenes in the held-out split |")
    print("| --- | --- | --- | --- | --- |")
    for kind, r in rows.items():
        print(f"| {kind} | {100 * r['right']:.1f} % | >= 75 % | {r['outside']:.3f} | {r['held_out']} of {r['n']} |")
    print(f"| all | {100 * total:.1f} % | >= 85 % | | |")
    ok, tried = refusals(cache)
    print(f"refusals answered with the expected sentence and nothing drawn: {ok} of {tried}")


if __name__ == "__main__":
    main()

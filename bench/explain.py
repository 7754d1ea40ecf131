"""Explain on the starter model: does each word's map lie on what the word names, and what does it cost?

    python -m bench.explain [--prompts 48] [--seed 2323] [--repeats 30]

Hit rate: canonical two-object prompts of the starter world (seeded), each drawn with its maps; the
objects are located in the drawn picture by the world's scene parser (worlds/shapes/scene_parser.py),
never from the prompt. A shape or colour word hits when most of the hottest 5 % of its map (as written
to its 8-bit PNG) lies in the box of the object it names, grown by 2 pixels; the background's colour
word (and the word "background") hits when most of it lies outside both grown boxes. A word whose
object was not drawn (the parser finds no object of its colour) counts as a miss. Printed per choice of
layers (finest attention resolutions counted), steps counted, and how a word's map is made (its own
tokens, or every position weighted by how much of the word it carries); the default is marked.

Time: the drawing at the default settings through the batcher (where the CLI's run draws), explain on and
off interleaved on the same prompt and seeds, median of `--repeats` calls each, at 1 and 8 pictures a call.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import numpy as np
import torch

from pipelines.core.results import NONE, GenerateRequest
from pipelines.models.attention_maps import DEFAULT, Weighting
from pipelines.models.batching import batcher_for
from pipelines.models.explain import explaining
from pipelines.models.word_maps import WordMap
from pipelines.tasks.generate import run, settings
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import BACKGROUNDS, CANVAS, POSITIONS, SIZES, Obj, random_scene, sentence
from zoo.cache import ModelCache
from zoo.registry import load_registry

MODEL = "starter/shapes-diffusion"
GROW = 2
HOT = 0.05
CHOICES = [
    (Weighting(levels=1), "carried"),
    (Weighting(levels=2), "carried"),
    (Weighting(levels=0), "carried"),
    (Weighting(levels=1, from_step=0.5), "carried"),
    (Weighting(levels=1, from_step=1.0), "carried"),
    (Weighting(levels=1), "own"),
    (Weighting(levels=2), "own"),
    (Weighting(levels=0), "own"),
    (Weighting(levels=1, from_step=1.0), "own"),
]


def box(obj: Obj, grow: int = GROW) -> np.ndarray:
    """The object's bounding box in the world's geometry, grown by `grow` pixels on every side."""
    (cx, cy), side = POSITIONS[obj.position], SIZES[obj.size]
    inside = np.zeros((CANVAS, CANVAS), bool)
    top, left = int(cy - side / 2 - grow), int(cx - side / 2 - grow)
    inside[max(0, top) : top + side + 2 * grow, max(0, left) : left + side + 2 * grow] = True
    return inside


def hottest(word: WordMap) -> np.ndarray:
    """The hottest 5 % of the map's pixels, read from the PNG it is written as."""
    values = np.asarray(word.png()).astype(np.int32)
    threshold = np.sort(values.reshape(-1))[-int(np.ceil(HOT * values.size))]
    return values >= threshold


def word_hits(prompt: str, image, words: list[WordMap]) -> dict[str, list[bool]]:
    """Per kind of word (colour, shape, background colour, "background"), whether each map hit."""
    seen = parse_image(image)
    named = sentence_objects(prompt)
    boxes = np.zeros((CANVAS, CANVAS), bool)
    for obj in seen.objects:
        boxes |= box(obj)
    split = next(w.index for w in words if w.word == "and")
    hits: dict[str, list[bool]] = {}
    for k, w in enumerate(words):
        hot = hottest(w)
        if w.word in BACKGROUNDS and k + 1 < len(words) and words[k + 1].word == "background":
            kind, where = "background colour", ~boxes
        elif w.word == "background":
            kind, where = "background", ~boxes
        else:
            want = named[0] if w.index < split else named[1]
            if w.word not in (want.colour, want.shape):
                continue
            kind = "colour" if w.word == want.colour else "shape"
            drawn = [o for o in seen.objects if o.colour == want.colour]
            where = box(drawn[0]) if drawn else np.zeros_like(boxes)
        hits.setdefault(kind, []).append(bool((hot & where).sum() * 2 > hot.sum()))
    return hits


def sentence_objects(prompt: str) -> tuple[Obj, ...]:
    from worlds.shapes.world import parse_sentence

    scene = parse_sentence(prompt)
    assert scene is not None and len(scene.objects) == 2, prompt
    return scene.objects


def hit_rates(pipe, prompts: list[str], seeds: list[int], run_settings: dict, weighting, mode) -> dict:
    with explaining(pipe, prompts, run_settings, weighting, mode) as found:
        out = pipe(
            prompt=prompts,
            num_inference_steps=run_settings["steps"],
            guidance_scale=run_settings["guidance"],
            width=run_settings["width"],
            height=run_settings["height"],
            generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
        )
    total: dict[str, list[bool]] = {}
    for prompt, image, words in zip(prompts, out.images, found):
        for kind, hits in word_hits(prompt, image, words).items():
            total.setdefault(kind, []).extend(hits)
    total["shape and colour"] = total.get("shape", []) + total.get("colour", [])
    return {kind: (sum(h) / len(h), len(h)) for kind, h in total.items()}


def cli_path_rates(cache, prompts: list[str], seeds: list[int]) -> dict:
    """The default choice through pipelines.tasks.generate.run, one request at a time, as the CLI draws."""
    total: dict[str, list[bool]] = {}
    for prompt, seed in zip(prompts, seeds):
        job = GenerateRequest(prompt, model=MODEL, expand_with=NONE, seed=seed, explain=True)
        picture = run(cache, job).pictures[0]
        for kind, hits in word_hits(prompt, picture.image, picture.words or []).items():
            total.setdefault(kind, []).extend(hits)
    total["shape and colour"] = total.get("shape", []) + total.get("colour", [])
    return {kind: (sum(h) / len(h), len(h)) for kind, h in total.items()}


def timing(cache, prompts: list[str], repeats: int, count: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds (this process, all threads) per drawing call (the batcher's, as the CLI's
    run makes it, without the receipt, whose picture reader keeps its last readings), explain off and on,
    interleaved; each pair on a prompt of its own (the text encoder's rollout is kept per prompt: a prompt
    seen before costs less). On a shared machine the CPU time is the steadier figure."""
    entry = cache.registry.pick(MODEL, "text-to-image")
    run_settings, batcher = settings(entry), batcher_for(cache)
    times: dict[tuple[str, bool], list[float]] = {}
    for i in range(repeats + 1):
        for explain in (False, True):
            prompt = prompts[(i + count * repeats) % len(prompts)]
            words = [] if explain else None
            wall, cpu = time.perf_counter(), time.process_time()
            batcher.draw(entry, [prompt] * count, "", run_settings, list(range(i, i + count)), words=words)
            if i:  # the first round warms up
                times.setdefault(("wall", explain), []).append(time.perf_counter() - wall)
                times.setdefault(("cpu", explain), []).append(time.process_time() - cpu)
    return {
        kind: (statistics.median(times[kind, False]), statistics.median(times[kind, True])) for kind in ("wall", "cpu")
    }


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--prompts", type=int, default=48)
    a.add_argument("--seed", type=int, default=2323)
    a.add_argument("--repeats", type=int, default=30)
    a.add_argument("--time-only", action="store_true", help="only the extra time")
    args = a.parse_args()
    rng = random.Random(args.seed)
    prompts = [sentence(random_scene(rng, 2)) for _ in range(args.prompts)]
    seeds = [args.seed + 1000 * i for i in range(len(prompts))]
    cache = ModelCache(load_registry(), device="cpu")
    entry = cache.registry.pick(MODEL, "text-to-image")
    run_settings = settings(entry)
    print(f"{len(prompts)} canonical two-object prompts (seed {args.seed}), {MODEL}, {run_settings['steps']} steps, ")
    threads, load = torch.get_num_threads(), os.getloadavg()[0]
    print(f"torch threads {threads}, {os.cpu_count()} CPUs, load average {load:.1f} at start;")
    print("objects located by worlds/shapes/scene_parser.py\n")
    if args.time_only:
        return print_timing(cache, prompts, args.repeats)
    print("| layers | steps | map of a word | shape+colour | colour | shape | bg colour | 'background' |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with cache.use(MODEL) as pipe:
        for weighting, mode in CHOICES:
            rates = hit_rates(pipe, prompts, seeds, run_settings, weighting, mode)
            print(row(weighting, mode, rates), flush=True)
    print("\nThe default through pipelines.tasks.generate.run (the CLI's path), one picture per call:")
    print(row(DEFAULT, "carried", cli_path_rates(cache, prompts, seeds)))
    print_timing(cache, prompts, args.repeats)


def print_timing(cache, prompts: list[str], repeats: int) -> None:
    print("\n| pictures per call | seconds | explain off (median) | explain on (median) | extra |")
    print("| --- | --- | --- | --- | --- |")
    for count in (1, 8):
        for kind, (off, on) in timing(cache, prompts, repeats, count).items():
            print(f"| {count} | {kind} | {off:.4f} | {on:.4f} | {100 * (on / off - 1):+.1f} % |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


def row(weighting: Weighting, mode: str, rates: dict) -> str:
    layers = "all" if weighting.levels == 0 else f"finest {weighting.levels}"
    steps = "all" if weighting.from_step == 0 else "last" if weighting.from_step >= 1 else f"from {weighting.from_step}"
    cells = [
        f"{100 * rates[k][0]:.1f} % ({rates[k][1]})" if k in rates else "-"
        for k in ("shape and colour", "colour", "shape", "background colour", "background")
    ]
    mark = " (default)" if (weighting, mode) == (DEFAULT, "carried") else ""
    return f"| {layers} | {steps} | {mode}{mark} | " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()

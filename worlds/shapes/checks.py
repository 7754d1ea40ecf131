"""What verify-and-refine asks of the starter world: a per-attribute check of a picture against a
request (read by the scene parser, not from a caption), the other readings of a canonical prompt,
and the next round's prompt after some attributes were missed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

from worlds.shapes.requests import ObjRequest, Request, complete, read_request
from worlds.shapes.world import Scene, parse_sentence, sentence


def check(request: str | Request, image) -> list[dict]:
    """One row per stated attribute and the object count: {'attribute', 'wanted', 'seen', 'ok'}."""
    from worlds.shapes.scene_parser import parse_image

    wanted = read_request(request) if isinstance(request, str) else request
    return check_scene(wanted, parse_image(image))


def check_scene(wanted: Request, seen: Scene) -> list[dict]:
    """As `check`, for a scene already read; the scene's objects are paired with the requested ones in
    the order that agrees best (as Request.agrees_with pairs them)."""
    stated = wanted.stated()
    best: dict | None = None
    for objects in itertools.permutations(seen.objects):
        have = Request(tuple(ObjRequest(**vars(o)) for o in objects), seen.background, seen.style).stated()
        if best is None or sum(have.get(k) == v for k, v in stated.items()) > sum(
            best.get(k) == v for k, v in stated.items()
        ):
            best = have
    best = best or {"background": seen.background, "style": seen.style}
    rows = [
        {"attribute": key, "wanted": value, "seen": best.get(key), "ok": best.get(key) == value}
        for key, value in stated.items()
    ]
    count_ok = len(seen.objects) == len(wanted.objects)
    return rows + [
        {"attribute": "object count", "wanted": len(wanted.objects), "seen": len(seen.objects), "ok": count_ok}
    ]


def readings(prompt: str) -> list[str]:
    """The canonical sentences of the prompt's scene: the prompt, then (two objects) the other order."""
    scene = parse_sentence(prompt)
    if scene is None or len(scene.objects) == 1:
        return [prompt]
    return [prompt, sentence(replace(scene, objects=scene.objects[::-1]))]


def refine(request: str, prompt: str, missed: list[str], seed: int) -> str:
    """The next round's canonical prompt: every attribute the request states is kept; each object with a
    missed attribute gets its unstated attributes (shape, size, colour) chosen afresh; and a two-object
    scene is named in the other order. Unchanged when nothing may change (everything stated, one object)."""
    wanted = read_request(request)
    current = parse_sentence(prompt)
    rng = random.Random(seed)
    if current is None or len(current.objects) != len(wanted.objects):
        return sentence(complete(wanted, rng))
    failed = {int(m[len("object") :].split(".")[0]) for m in missed if m.startswith("object") and "." in m}
    matches = lambda order: sum(
        getattr(d, k) == v
        for a, d in zip(wanted.objects, order)  # noqa: E731
        for k, v in vars(a).items()
        if v
    )
    drawn_in_order = max(itertools.permutations(current.objects), key=matches)  # paired with the request's
    objects = []
    for i, (asked, drawn) in enumerate(zip(wanted.objects, drawn_in_order), 1):
        keep = asked if i in failed else ObjRequest(drawn.colour, drawn.shape, drawn.size, drawn.position)
        objects.append(replace(keep, position=asked.position or drawn.position))
    scene = complete(
        Request(tuple(objects), wanted.background or current.background, wanted.style or current.style), rng
    )
    if len(scene.objects) == 2:
        scene = replace(scene, objects=scene.objects[::-1])
    return sentence(scene)

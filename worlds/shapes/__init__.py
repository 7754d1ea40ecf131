"""The starter world of worlds/shapes/CONTRACT.md behind the World interface."""

from __future__ import annotations

from collections import defaultdict

from worlds.base import ChatReading, EditResult
from worlds.shapes.requests import Request, read_request
from worlds.shapes.world import COLOURS, parse_sentence, sentence, with_style


class ShapesWorld:
    name = "shapes"
    palette = COLOURS

    def is_canonical(self, text: str) -> bool:
        return parse_sentence(text) is not None

    def agreement(self, request: str | Request, text: str) -> float:
        wanted = read_request(request) if isinstance(request, str) else request
        seen = parse_sentence(text)
        if seen is None:
            return -1.0
        agrees = wanted.agrees_with(seen)
        return sum(agrees.values()) / len(agrees)

    def read(self, request: str) -> Request:
        return read_request(request)

    def restyle(self, canonical: str, style_request: str) -> str | None:
        wanted = read_request(style_request).style
        if wanted is None:
            raise ValueError(
                "In the shapes world the style is 'flat' (filled, solid) or 'outline' (outlined, line drawing)."
            )
        scene = parse_sentence(canonical)
        return None if scene is None else sentence(with_style(scene, wanted))

    def read_picture(self, image) -> str:
        from worlds.shapes.scene_parser import parse_image

        scene = parse_image(image)
        try:
            return sentence(scene.validate())
        except ValueError:
            raise ValueError(
                "The picture does not read as a scene of the shapes world (one or two shapes "
                "on a plain background, one style)."
            ) from None

    def check(self, request: str, image) -> list[dict]:
        from worlds.shapes.checks import check

        return check(request, image)

    def readings(self, prompt: str) -> list[str]:
        from worlds.shapes.checks import readings

        return readings(prompt)

    def refine(self, request: str, prompt: str, missed: list[str], seed: int) -> str:
        from worlds.shapes.checks import refine

        return refine(request, prompt, missed, seed)

    def complete(self, request: str, seed: int) -> str:
        """The canonical sentence with every attribute the grammar reads in `request`, the rest drawn from seed."""
        import random

        from worlds.shapes.requests import complete

        return sentence(complete(read_request(request), random.Random(seed)))

    def reference(self, prompt: str, seed: int = 0):
        import random

        from worlds.shapes.requests import complete
        from worlds.shapes.world import render_pil

        scene = parse_sentence(prompt) or complete(read_request(prompt), random.Random(seed))
        return render_pil(scene)

    def edit(self, canonical: str, instruction: str) -> EditResult:
        from worlds.shapes import edits

        scene = parse_sentence(canonical)
        if scene is None:
            raise ValueError("Only a canonical sentence of the shapes world can be edited.")
        change = edits.apply(scene, instruction)
        return EditResult(sentence(change.scene.validate()), change.kind, edits.region(scene, change))

    def converse(self, scene: str | None, message: str, focus: str | None, seed: int = 0) -> ChatReading:
        from worlds.shapes.conversation import converse

        return converse(scene, message, focus, seed)

    def fidelity(self, prompts: list[str], pictures) -> dict:
        from worlds.shapes.scene_parser import parse_image

        per_attribute, right = defaultdict(list), {1: [], 2: []}
        for prompt, image in zip(prompts, pictures):
            wanted, seen = read_request(prompt), parse_image(image)
            agrees = wanted.agrees_with(seen)
            for key, ok in agrees.items():
                per_attribute[key.split(".")[-1]].append(ok)
            whole = all(agrees.values()) and len(seen.objects) == len(wanted.objects)
            right.setdefault(len(wanted.objects), []).append(whole)
        accuracy = {k: sum(v) / len(v) for k, v in sorted(per_attribute.items())}
        scenes = {f"{n}-object scenes right": sum(v) / len(v) for n, v in right.items() if v}
        every = [ok for v in right.values() for ok in v]
        return {"attributes": accuracy, "scenes": scenes | {"all scenes right": sum(every) / len(every)}}


SHAPES_WORLD = ShapesWorld()

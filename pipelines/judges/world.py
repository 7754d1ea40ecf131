"""The judge of a synthetic world's models: the world reads each picture itself (the starter world's scene
parser), not its caption; a receipt's rows are the request's stated attributes and the object count."""

from __future__ import annotations

from pipelines.core.results import Picture
from pipelines.judges.base import Receipt, Verdict
from pipelines.judges.receipt import missed, score
from worlds.base import World
from zoo.registry import ModelEntry


class WorldJudge:
    def __init__(self, entry: ModelEntry, world: World):
        self.entry = entry
        self.world: World | None = world
        self._world = world  # the same reader, known not to be None

    def needs_expansion(self, request: str) -> bool:
        return bool(self.entry.expander) and not self._world.is_canonical(request)

    def readings(self, prompt: str) -> list[str]:
        return self._world.readings(prompt)

    def check(self, request: str, images: list, captions: list | None = None) -> list[Receipt]:
        return [self._world.check(request, image) for image in images]

    def judge(self, request: str, images: list) -> list[Verdict]:
        """No captions: the world reads the pictures (the best one is described by its reading afterwards)."""
        return [Verdict(None, rows, score(rows)) for rows in self.check(request, images)]

    def describe(self, image) -> str:
        try:
            return self._world.read_picture(image)
        except ValueError as e:
            return str(e)

    def propose(
        self, request: str, used: str, pictures: list[Picture], best: Picture, expander: str | None, seed: int
    ) -> str:
        """The world picks what to change (World.refine)."""
        return self._world.refine(request, used, missed(best.receipt or []), seed)

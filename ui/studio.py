"""What every handler needs, built once by the app and passed down (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.backend import Backend, LocalBackend
from pipelines.feedback.store import FeedbackStore
from ui.explanations import Explanations
from ui.files import Downloads
from ui.jobs import Runs
from ui.training_slot import TrainingSlot
from zoo.cache import ModelCache
from zoo.errors import AtelierError
from zoo.registry import ModelEntry


@dataclass
class Studio:
    cache: ModelCache
    backend: Backend | None = None
    embed_parameters: bool = True  # the default of the privacy switch: PNGs carry their parameters
    defaults_reason: str = "the starter zoo"  # why the default models were chosen (zoo/defaults.py)
    runs: Runs = field(default_factory=Runs)
    downloads: Downloads = field(default_factory=Downloads)
    explanations: Explanations = field(default_factory=Explanations)  # word maps of explained runs
    feedback: FeedbackStore | None = None  # where ratings go; None: ratings are off
    training: TrainingSlot = field(default_factory=TrainingSlot)

    def __post_init__(self):
        if self.backend is None:
            self.backend = LocalBackend(self.cache)
        if self.feedback is not None:  # every picture written can be rated, by file or by id
            self.downloads.on_write = self.feedback.remember_files

    @property
    def registry(self):
        """The backend's registry: it learns the adapters the Train tab makes (the Ray backend's, too)."""
        assert self.backend is not None  # set in __post_init__
        return self.backend.registry

    def default(self, task: str) -> ModelEntry | None:
        try:
            return self.registry.default(task)
        except AtelierError:
            return None

    def choices(self, task: str) -> list[str]:
        return [e.id for e in self.registry.for_task(task)]

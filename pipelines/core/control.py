"""One run's control: where its progress goes, its Stop flag, and where its preview pictures go.

Every long call takes one RunControl (never three loose parameters); a caller that wants none of it
passes nothing and gets a control that reports nowhere and is never cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from PIL import Image

from zoo.errors import Cancelled

Progress = Callable[[int, int], None]  # (steps done, steps in all)
Preview = Callable[[list[Image.Image]], None]
CANCELLED = "The run was cancelled; nothing was lost, start it again when ready."


@dataclass(frozen=True)
class RunControl:
    progress: Progress | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    preview: Preview | None = None

    def step(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def show(self, pictures: list[Image.Image]) -> None:
        if self.preview is not None:
            self.preview(pictures)

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        """Raises Cancelled (the one sentence) when Stop was pressed."""
        if self.cancel.is_set():
            raise Cancelled(CANCELLED)

    def without_previews(self) -> RunControl:
        return replace(self, preview=None)

    def part(self, index: int, parts: int) -> RunControl:
        """The control of part `index` of `parts` equal parts (verify's rounds): progress counts on across them;
        the parts' own step previews are not shown."""
        if self.progress is None:
            return self.without_previews()
        outer = self.progress
        return RunControl(lambda done, total: outer(index * total + done, parts * total), self.cancel)

    def on_step_end(self, total: int):
        """A diffusers callback_on_step_end that reports each step and stops the run when asked."""

        def on_step_end(pipe, step: int, timestep, tensors: dict) -> dict:
            self.step(step + 1, total)
            if self.cancel.is_set():
                pipe._interrupt = True
            return tensors

        return on_step_end

"""The one training a server runs at a time: its lock, its process and where adapters are kept."""

from __future__ import annotations

import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from zoo.adapters import trained_folder


@dataclass
class TrainingSlot:
    root: Path = field(default_factory=trained_folder)  # uploads, clean data and the adapters trained here
    lock: threading.Lock = field(default_factory=threading.Lock)
    process: subprocess.Popen | None = None
    stopping: bool = False

    def stop(self) -> bool:
        """Asks the running trainer to stop after its step (SIGINT: it saves its state first)."""
        process = self.process
        if process is None or process.poll() is not None:
            return False
        self.stopping = True
        process.send_signal(signal.SIGINT)
        return True

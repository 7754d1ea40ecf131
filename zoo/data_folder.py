"""Where Atelier keeps what it makes on this machine: the history secret, ratings, trained adapters."""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "ATELIER_DATA_DIR"


def data_folder() -> Path:
    """$ATELIER_DATA_DIR, else $XDG_DATA_HOME/atelier, else ~/.local/share/atelier (made 0700)."""
    shared = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = Path(os.environ.get(VARIABLE) or shared / "atelier")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder

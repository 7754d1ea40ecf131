"""Per-person limits the request guard keeps: uploads (bytes per request and per hour, bytes kept on disk,
old uploads deleted) and failed logins (slowed per address). The numbers are in the README."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

MB = 2**20


@dataclass(frozen=True)
class UploadLimits:
    per_request: int = 20 * MB  # all files of one upload request together
    per_hour: int = 200 * MB
    on_disk: int = 100 * MB  # uploads of one person kept at once
    keep_seconds: float = 3600.0  # an upload is deleted an hour after it arrived


class Uploads:
    """Who uploaded which file when, to hold each person to UploadLimits."""

    def __init__(self, limits: UploadLimits = UploadLimits()):
        self.limits = limits
        self._sent: dict[str, deque] = defaultdict(deque)  # person -> (time, bytes) in the last hour
        self._kept: dict[str, list] = defaultdict(list)  # person -> (time, path, bytes) still on disk
        self._lock = threading.Lock()
        self._pruned = 0.0

    def refusal(self, person: str, size: int) -> str | None:
        """A sentence when `size` more bytes from `person` would pass a limit, else None."""
        self.prune()
        with self._lock:
            sent = sum(n for _, n in self._sent[person])
            kept = sum(n for _, _, n in self._kept[person])
        if size > self.limits.per_request:
            return f"One upload may hold {amount(self.limits.per_request)} at most, all files together."
        if sent + size > self.limits.per_hour:
            return f"You have uploaded {amount(self.limits.per_hour)} in the last hour; try again later."
        if kept + size > self.limits.on_disk:
            return (
                f"Your uploads take {amount(self.limits.on_disk)} on this server already; "
                "they are deleted an hour after they arrive."
            )
        return None

    def record(self, person: str, paths: list[str], size: int) -> None:
        now = time.time()
        with self._lock:
            self._sent[person].append((now, size))
            for path in paths:
                self._kept[person].append((now, path, _size(path)))

    def prune(self, now: float | None = None) -> None:
        """Forgets sends older than an hour and deletes uploads older than keep_seconds (at most every 10 s
        unless a time is given)."""
        if now is None and time.time() - self._pruned < 10:
            return
        now = time.time() if now is None else now
        self._pruned = now
        with self._lock:
            for person, sent in list(self._sent.items()):
                while sent and now - sent[0][0] > 3600:
                    sent.popleft()
                if not sent:
                    del self._sent[person]
            for person, kept in list(self._kept.items()):
                old = [k for k in kept if now - k[0] > self.limits.keep_seconds]
                for _, path, _ in old:
                    _remove(path)
                kept[:] = [k for k in kept if k not in old and os.path.exists(k[1])]
                if not kept:
                    del self._kept[person]


def amount(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{max(1, size // 1024)} KB"


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _remove(path: str) -> None:
    try:
        os.remove(path)
        os.rmdir(os.path.dirname(path))  # Gradio gives each upload a folder of its own
    except OSError:
        pass


class Logins:
    """Failed logins per address: after `free` failures, each attempt waits twice as long as the last
    (1 s, 2 s, 4 s... up to `longest`); a success or `forget_after` quiet seconds start afresh."""

    def __init__(self, free: int = 5, longest: float = 300.0, forget_after: float = 900.0):
        self.free, self.longest, self.forget_after = free, longest, forget_after
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str, now: float | None = None) -> float:
        """Seconds this address must still wait before its next attempt (0: it may try now)."""
        now = time.time() if now is None else now
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
        if count < self.free or now - last > self.forget_after:
            return 0.0
        return max(0.0, last + min(self.longest, 2.0 ** (count - self.free)) - now)

    def failed(self, address: str) -> None:
        now = time.time()
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
            self._failures[address] = (1 if now - last > self.forget_after else count + 1, now)
            if len(self._failures) > 100_000:  # a flood of addresses: forget the quietest half
                for key in sorted(self._failures, key=lambda k: self._failures[k][1])[:50_000]:
                    del self._failures[key]

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    @staticmethod
    def sentence(seconds: float) -> str:
        wait = max(1, round(seconds))
        return f"Too many failed logins from your address; try again in {wait} second{'s' if wait > 1 else ''}."

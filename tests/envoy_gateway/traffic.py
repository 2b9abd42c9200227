"""Requests sent without pause while a policy changes, each answer recorded with its time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from clients import get1


@dataclass
class Answer:
    at: float  # seconds since the change was written
    target: bytes
    status: int | None  # None: the connection failed
    forwarded: bool  # the demo upstream answered (it tags its answers)


@dataclass
class Traffic:
    """Cycles through `targets` on fresh HTTP/1.1 connections from start() to stop()."""

    port: int
    targets: list[bytes]
    answers: list[Answer] = field(default_factory=list)
    change_at: float = 0.0

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.change_at = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            for target in self.targets:
                try:
                    response = get1(self.port, target)
                    status, forwarded = response.status, response.upstream_target() is not None
                except OSError:
                    status, forwarded = None, False
                self.answers.append(Answer(time.monotonic() - self.change_at, target, status, forwarded))
            time.sleep(0.02)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def mark_change(self) -> None:
        self.change_at = time.monotonic()
        self.answers.clear()

    def stop(self) -> list[Answer]:
        self._stop.set()
        self._thread.join(15)
        return self.answers

    def summary(self, target: bytes) -> Counter:
        return Counter((a.status, a.forwarded) for a in self.answers if a.target == target)

    def first(self, target: bytes, status: int | None) -> float | None:
        """When `target` was first answered `status` after the change."""
        return next((a.at for a in self.answers if a.target == target and a.status == status), None)

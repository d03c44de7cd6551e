"""Progress of long work (firmware and TFLM builds, model uploads, a case's
vectors), reported by the code doing it and shown by whoever listens: the
pytest plugin's terminal line (hil.pytestplugin.progress) or nothing at all.

The work does not know who shows it: it reports `Step`s to the listeners
registered with `listening`, which costs nothing when there are none."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One report of a task: started (done 0), moved on, or finished."""

    kind: str  # "build", "upload" or "vectors"
    what: str  # e.g. "TFLM library (cortex-m55, cmsis-nn)"
    done: int = 0
    total: int | None = None  # None: no measure of how far it is
    finished: bool = False
    seconds: float = 0.0  # since the task started
    unit: str = ""  # of done/total: "B", "vectors", or "" (nothing counted)


Listener = Callable[[Step], None]
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every step reported inside the block to `listener` too."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _emit(step: Step) -> None:
    for listener in list(_listeners):
        listener(step)


class Task:
    """A task under way; `advance` says how far it is."""

    def __init__(self, kind: str, what: str, total: int | None, unit: str) -> None:
        self.kind, self.what, self.total, self.unit = kind, what, total, unit
        self.started = time.monotonic()
        self.done = 0

    def _step(self, finished: bool) -> Step:
        seconds = time.monotonic() - self.started
        return Step(self.kind, self.what, self.done, self.total, finished, seconds, self.unit)

    def advance(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if _listeners:
            _emit(self._step(False))


@contextmanager
def task(kind: str, what: str, total: int | None = None, unit: str = "") -> Iterator[Task]:
    """A task from its start to its end; the end is reported only when it
    succeeds (a failure speaks for itself as an error)."""
    current = Task(kind, what, total, unit)
    if _listeners:
        _emit(current._step(False))
    yield current
    if _listeners:
        _emit(current._step(True))

"""Host wall time per phase of a case (build, boot, model load, inputs,
inference, outputs, references), summed over the case: what benchmarks/suite.py
reports to show where a run's time goes. Cheap enough to be always on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("build", "boot", "model load", "inputs", "inference", "outputs", "references")


class PhaseClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the time spent inside to NAME. Callers keep phases disjoint
        (a relink during a load is timed as build and boot, not as load)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def take(self) -> dict[str, float]:
        """The phases so far, and start again from zero."""
        seconds, self.seconds = self.seconds, {}
        return seconds

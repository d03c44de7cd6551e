"""Find the marker windows in a trace: runs of samples with the marker high,
edges taken from the meter's own sample clock, never from host timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.energy.trace import Trace


@dataclass(frozen=True)
class Window:
    """Ticks [start, end) of the sample clock: `start` is the first sample seen
    high, `end` the first seen low after it. Where samples were lost next to
    an edge, the true edge lies up to `*_uncertainty` ticks earlier."""

    start: int
    end: int
    start_uncertainty: int = 0
    end_uncertainty: int = 0

    @property
    def samples(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Windows:
    windows: tuple[Window, ...]
    open_at_start: bool  # the marker was already high when the capture began
    open_at_end: bool  # ... or still high when it ended (those runs are not windows)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def edge_uncertainty(self) -> int:
        return sum(w.start_uncertainty + w.end_uncertainty for w in self.windows)


def find_windows(trace: Trace) -> Windows:
    """Every complete high run of the marker. A run cut by the start or end of
    the capture is not a window (its energy is unknown) and is flagged."""
    if not len(trace):
        return Windows((), False, False)
    high = trace.marker
    index = trace.index
    change = np.flatnonzero(high[1:] != high[:-1]) + 1  # first sample of each new level
    rises = change[high[change]]
    falls = change[~high[change]]
    open_at_start = bool(high[0])
    open_at_end = bool(high[-1])
    if open_at_start:
        falls = falls[1:]  # the first fall closes a run that began before the capture
    if open_at_end:
        rises = rises[:-1]
    windows = tuple(
        Window(
            start=int(index[r]),
            end=int(index[f]),
            start_uncertainty=int(index[r] - index[r - 1] - 1),
            end_uncertainty=int(index[f] - index[f - 1] - 1),
        )
        for r, f in zip(rises, falls, strict=True)
    )
    return Windows(windows, open_at_start, open_at_end)

"""Energy from a trace: the integral of V·I over the marker windows, per
inference; average power and peak current inside them; idle power between
them, reported on its own and never subtracted. Plus the MLPerf Tiny style
summary (runs of at least 10 s, median of 5)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hil.energy.errors import EnergyError
from hil.energy.trace import Trace
from hil.energy.windows import Window, Windows

MLPERF_MIN_WINDOW_S = 10.0  # MLPerf Tiny energy runs last at least 10 s ...
MLPERF_RUNS = 5  # ... and the score is the median of 5 of them


@dataclass(frozen=True)
class Span:
    """The energy in ticks [start, end) of one trace."""

    energy_j: float
    ticks: int
    filled: int  # ticks with no sample, filled by linear interpolation
    peak_current_a: float


def span_energy(trace: Trace, start: int, end: int) -> Span:
    """Sum of V·I·dt over every tick in [start, end). Each sample stands for
    one period of the sample clock; a lost sample is interpolated linearly
    between its neighbours (and counted), never taken as zero."""
    index = trace.index
    lo = int(np.searchsorted(index, start, side="left"))
    hi = int(np.searchsorted(index, end, side="left"))
    ticks = end - start
    present = hi - lo
    power = trace.power_w
    peak = float(np.max(trace.current_a[lo:hi])) if present else math.nan
    if present == ticks:
        return Span(float(np.sum(power[lo:hi])) * trace.period_s, ticks, 0, peak)
    a, b = max(lo - 1, 0), min(hi + 1, len(index))
    if b <= a:
        raise EnergyError(f"no samples at all near ticks {start}..{end}; cannot integrate")
    filled = np.interp(np.arange(start, end), index[a:b], power[a:b])
    return Span(float(np.sum(filled)) * trace.period_s, ticks, ticks - present, peak)


@dataclass(frozen=True)
class WindowEnergy:
    window: Window
    span: Span


@dataclass(frozen=True)
class EnergySummary:
    windows: tuple[WindowEnergy, ...]
    inferences: int
    sample_rate_hz: float
    idle: Span | None  # everything between consecutive windows, or None if one window
    lost_samples: int  # over the whole capture
    open_windows: int  # marker runs cut by the capture's start or end, not counted
    edge_uncertainty: int  # ticks by which window edges may be early (lost samples)
    mean_voltage_v: float  # over the windows

    @property
    def energy_j(self) -> float:
        return sum(w.span.energy_j for w in self.windows)

    @property
    def window_time_s(self) -> float:
        return sum(w.span.ticks for w in self.windows) / self.sample_rate_hz

    @property
    def energy_per_inference_j(self) -> float:
        return self.energy_j / self.inferences

    @property
    def average_power_w(self) -> float:
        return self.energy_j / self.window_time_s

    @property
    def peak_current_a(self) -> float:
        return max(w.span.peak_current_a for w in self.windows)

    @property
    def idle_power_w(self) -> float | None:
        if self.idle is None or self.idle.ticks == 0:
            return None
        return self.idle.energy_j / (self.idle.ticks / self.sample_rate_hz)

    @property
    def filled_samples(self) -> int:
        return sum(w.span.filled for w in self.windows)


def integrate(trace: Trace, windows: Windows, inferences: int) -> EnergySummary:
    """Energy over `windows` of `trace`, shared by `inferences` inferences."""
    if inferences <= 0:
        raise EnergyError(f"inferences must be positive, got {inferences}")
    if not len(windows):
        raise EnergyError(
            "no complete marker window in the trace: is the marker wired to the meter's "
            "input, and did the firmware run inferences during the capture?"
            + (
                " (the marker was high at the start or end: capture began late or ended early)"
                if windows.open_at_start or windows.open_at_end
                else ""
            )
        )
    per_window = tuple(WindowEnergy(w, span_energy(trace, w.start, w.end)) for w in windows.windows)
    gaps = [
        span_energy(trace, a.end, b.start)
        for a, b in zip(windows.windows, windows.windows[1:], strict=False)
        if b.start > a.end
    ]
    idle = (
        Span(
            sum(g.energy_j for g in gaps),
            sum(g.ticks for g in gaps),
            sum(g.filled for g in gaps),
            max(g.peak_current_a for g in gaps),
        )
        if gaps
        else None
    )
    in_windows = np.zeros(len(trace), dtype=bool)
    for w in windows.windows:
        lo, hi = np.searchsorted(trace.index, [w.start, w.end])
        in_windows[lo:hi] = True
    return EnergySummary(
        windows=per_window,
        inferences=inferences,
        sample_rate_hz=trace.identity.sample_rate_hz,
        idle=idle,
        lost_samples=trace.lost_samples,
        open_windows=int(windows.open_at_start) + int(windows.open_at_end),
        edge_uncertainty=windows.edge_uncertainty,
        mean_voltage_v=float(np.mean(trace.voltage_v[in_windows])),
    )


def mlperf_inferences(
    seconds_per_inference: float, min_window_s: float = MLPERF_MIN_WINDOW_S
) -> int:
    """How many back-to-back inferences one MLPerf-style window needs to last
    at least `min_window_s`."""
    if seconds_per_inference <= 0:
        raise EnergyError(f"seconds per inference must be positive, got {seconds_per_inference}")
    return max(1, math.ceil(min_window_s / seconds_per_inference))


@dataclass(frozen=True)
class MlperfResult:
    median_energy_per_inference_j: float
    runs: tuple[EnergySummary, ...]


def mlperf_median(
    runs: Sequence[EnergySummary],
    *,
    min_window_s: float = MLPERF_MIN_WINDOW_S,
    count: int = MLPERF_RUNS,
) -> MlperfResult:
    """The median energy per inference of `count` runs, each of back-to-back
    inferences whose marker windows last at least `min_window_s` in all, as
    MLPerf Tiny's energy mode scores."""
    if len(runs) != count:
        raise EnergyError(f"MLPerf-style energy needs {count} runs, got {len(runs)}")
    for i, run in enumerate(runs):
        # One window per inference (hil's protocol) or one for the whole loop
        # (EEMBC): either way the inference time inside windows is what counts.
        if run.window_time_s < min_window_s:
            raise EnergyError(
                f"MLPerf-style run {i}: {len(run.windows)} window(s) lasted "
                f"{run.window_time_s:.3f} s in all, less than {min_window_s:g} s; "
                "run more inferences (see mlperf_inferences)"
            )
    median = statistics.median(r.energy_per_inference_j for r in runs)
    return MlperfResult(median, tuple(runs))

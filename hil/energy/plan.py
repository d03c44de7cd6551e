"""How a case's energy is measured with a meter: one capture of a few timed
inferences, or MLPerf Tiny's way (runs of at least 10 s of inference, the
median of 5). The device side is a callable, so this module knows nothing of
links or firmware: `run(n)` makes the firmware run `n` timed inferences and
returns how many marker windows they make (one per inference in hil's own
protocol, one for the whole loop in EEMBC mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hil.energy.errors import EnergyError
from hil.energy.figure import EnergyFigure
from hil.energy.integrate import (
    MLPERF_MIN_WINDOW_S,
    MLPERF_RUNS,
    EnergySummary,
    integrate,
    mlperf_inferences,
    mlperf_median,
)
from hil.energy.measure import capture, checked_windows, figure_from_summary
from hil.energy.meter import Meter
from hil.energy.trace import Trace

RunMarked = Callable[[int], int]


@dataclass(frozen=True)
class EnergyPlan:
    inferences: int = 10  # per capture; in MLPerf mode, of the pilot capture
    mlperf: bool = False
    min_window_s: float = MLPERF_MIN_WINDOW_S
    runs: int = MLPERF_RUNS

    def __post_init__(self) -> None:
        if self.inferences < 1:
            raise EnergyError(f"energy inferences must be >= 1, got {self.inferences}")
        if self.runs < 1 or self.min_window_s <= 0:
            raise EnergyError("MLPerf-style energy needs runs >= 1 and a positive window length")

    def describe(self) -> str:
        if self.mlperf:
            return (
                f"MLPerf-style: median of {self.runs} runs of >= {self.min_window_s:g} s of "
                f"inference (sized by a pilot of {self.inferences})"
            )
        return f"{self.inferences} timed inferences per capture"


def measure_energy(
    meter: Meter, run: RunMarked, plan: EnergyPlan, *, core_clock_hz: int | None = None
) -> EnergyFigure:
    """The measured energy per inference of what `run` makes the firmware do."""
    pilot, trace = _capture(meter, run, plan.inferences)
    if not plan.mlperf:
        return figure_from_summary(pilot, trace, core_clock_hz)
    n = mlperf_inferences(pilot.window_time_s / pilot.inferences, plan.min_window_s)
    summaries, traces = zip(*(_capture(meter, run, n) for _ in range(plan.runs)), strict=True)
    result = mlperf_median(summaries, min_window_s=plan.min_window_s, count=plan.runs)
    # The run whose energy is the median (an odd count has one) stands for the rest.
    median = result.median_energy_per_inference_j
    pick = min(
        range(len(summaries)), key=lambda i: abs(summaries[i].energy_per_inference_j - median)
    )
    chosen = figure_from_summary(summaries[pick], traces[pick], core_clock_hz)
    runs = ", ".join(f"{s.energy_per_inference_j:.6g}" for s in summaries)
    return replace(
        chosen,
        energy_per_inference_j=median,
        method=(
            f"measured, MLPerf-style: median of {plan.runs} runs of {n} back-to-back inferences "
            f"(>= {plan.min_window_s:g} s of marker windows each) of the integral of V*I over "
            "the marker windows / inferences"
        ),
        notes=(*chosen.notes, f"energy per inference of each run (J): {runs}"),
    )


def _capture(meter: Meter, run: RunMarked, n: int) -> tuple[EnergySummary, Trace]:
    """Capture while `run` makes `n` inferences; integrate over exactly the
    windows the device says they make."""
    expected: list[int] = []

    def go() -> None:
        windows = run(n)
        if windows < 1:
            raise EnergyError(f"the device reported {windows} marker windows for {n} inferences")
        expected.append(windows)

    trace = capture(meter, go)
    return integrate(trace, checked_windows(trace, expected[0]), n), trace

"""Measure energy per inference with a meter: capture while the firmware runs
inferences, find the marker windows in the samples, integrate V·I over them."""

from __future__ import annotations

from collections.abc import Callable

from hil.energy.errors import EnergyError
from hil.energy.figure import EnergyFigure
from hil.energy.integrate import EnergySummary, integrate
from hil.energy.meter import Meter
from hil.energy.trace import Trace
from hil.energy.windows import Windows, find_windows


def figure_from_trace(
    trace: Trace,
    inferences: int,
    *,
    core_clock_hz: int | None = None,
    expected_windows: int | None = None,
) -> EnergyFigure:
    """The measured figure for `inferences` inferences run inside the marker
    windows of `trace`. With `expected_windows`, a different count of windows
    is an error (a missed or extra edge would silently skew the figure)."""
    windows = checked_windows(trace, expected_windows)
    return figure_from_summary(integrate(trace, windows, inferences), trace, core_clock_hz)


def checked_windows(trace: Trace, expected_windows: int | None) -> Windows:
    """The marker windows of `trace`; with `expected_windows`, a different
    count is an error (a missed or extra edge would silently skew the figure)."""
    windows = find_windows(trace)
    if expected_windows is not None and len(windows) != expected_windows:
        raise EnergyError(
            f"found {len(windows)} marker window(s) in the trace, expected {expected_windows}"
            + (
                " (a run was cut by the capture's start or end)"
                if windows.open_at_start or windows.open_at_end
                else ""
            )
        )
    return windows


def figure_from_summary(
    summary: EnergySummary, trace: Trace, core_clock_hz: int | None
) -> EnergyFigure:
    identity = trace.identity
    notes = list(trace.notes)
    if summary.open_windows:
        notes.append(f"{summary.open_windows} marker run(s) cut by the capture, not counted")
    if summary.edge_uncertainty:
        notes.append(
            f"samples lost next to window edges: edges uncertain by up to "
            f"{summary.edge_uncertainty} sample(s) in all"
        )
    if identity.voltage != "sampled":
        notes.append(f"voltage not sampled: {identity.voltage}")
    return EnergyFigure(
        energy_per_inference_j=summary.energy_per_inference_j,
        inferences=summary.inferences,
        modeled=False,
        method="measured: integral of V*I over the marker windows / inferences",
        meter_model=identity.model,
        meter_serial=identity.serial,
        sample_rate_hz=identity.sample_rate_hz,
        sync=identity.sync,
        supply_v=summary.mean_voltage_v,
        core_clock_hz=core_clock_hz,
        windows=len(summary.windows),
        window_time_s=summary.window_time_s,
        average_power_w=summary.average_power_w,
        peak_current_a=summary.peak_current_a,
        idle_power_w=summary.idle_power_w,
        lost_samples=summary.lost_samples,
        filled_samples=summary.filled_samples,
        edge_uncertainty_samples=summary.edge_uncertainty,
        notes=tuple(notes),
    )


def capture(meter: Meter, run: Callable[[], object]) -> Trace:
    """The meter's trace of everything `run` does; the capture is stopped even
    when `run` fails."""
    meter.start_capture()
    try:
        run()
    except BaseException:
        meter.stop_capture()
        raise
    return meter.stop_capture()


def measure(
    meter: Meter,
    run_inferences: Callable[[], object],
    inferences: int,
    *,
    core_clock_hz: int | None = None,
    expected_windows: int | None = None,
) -> EnergyFigure:
    """Energy per inference of `inferences` inferences that `run_inferences`
    makes the firmware run, each timed window marked by the marker pin."""
    return figure_from_trace(
        capture(meter, run_inferences),
        inferences,
        core_clock_hz=core_clock_hz,
        expected_windows=expected_windows,
    )

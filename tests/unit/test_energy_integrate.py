"""Windows and integration on synthetic traces of known energy: pulses of
known width and amplitude, noise, dropped samples."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hil.energy import (
    EnergyError,
    MeterIdentity,
    figure_from_trace,
    find_windows,
    integrate,
    make_trace,
    mlperf_inferences,
    mlperf_median,
)
from hil.energy.trace import Trace
from tests.energy_synth import Pulse, Synthetic, five_pulses

TOLERANCE = 1e-3  # the bound: integration error < 0.1 %


def trace_of(synth: Synthetic, marker_mask: int = 1) -> Trace:
    identity = MeterIdentity("synthetic", "S1", synth.rate_hz, "marker bit sampled with I and V")
    ticks, current, voltage, bits = synth.samples()
    return make_trace(identity, ticks, current, voltage, bits, marker_mask=marker_mask)


def relative_error(got: float, want: float) -> float:
    return abs(got - want) / want


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("rate_hz", [100_000, 20_000])
def test_windows_are_found_exactly_and_energy_is_within_tolerance(
    noise: float, rate_hz: float
) -> None:
    synth = five_pulses(rate_hz, noise=noise, other_bits=0b1010_0000)
    trace = trace_of(synth)
    windows = find_windows(trace)
    assert [(w.start, w.end) for w in windows.windows] == synth.windows()
    assert windows.edge_uncertainty == 0
    summary = integrate(trace, windows, inferences=len(synth.pulses))
    assert (
        relative_error(summary.energy_per_inference_j, synth.expected_energy_per_inference_j())
        < TOLERANCE
    )
    for got, want in zip(summary.windows, synth.energy_per_pulse_j(), strict=True):
        # One window alone averages fewer samples: allow 5 standard errors of its mean.
        bound = 5 * noise / np.sqrt(got.span.ticks) if noise else 1e-12
        assert relative_error(got.span.energy_j, want) < bound


def test_noise_free_energy_is_exact() -> None:
    synth = five_pulses()
    summary = integrate(trace_of(synth), find_windows(trace_of(synth)), inferences=5)
    assert summary.energy_j == pytest.approx(sum(synth.energy_per_pulse_j()), rel=1e-12)
    assert summary.peak_current_a == pytest.approx(max(p.current_a for p in synth.pulses))
    width = sum(p.width_s for p in synth.pulses)
    assert summary.window_time_s == pytest.approx(width)
    assert summary.average_power_w == pytest.approx(summary.energy_j / width)
    assert summary.mean_voltage_v == pytest.approx(synth.voltage_v)


def test_idle_power_between_windows_is_reported_not_subtracted() -> None:
    synth = five_pulses(idle_a=1.7e-3)
    trace = trace_of(synth)
    summary = integrate(trace, find_windows(trace), inferences=5)
    assert summary.idle_power_w == pytest.approx(synth.idle_a * synth.voltage_v, rel=1e-12)
    # The windows hold all of their energy, idle floor included in the pulse
    # current: nothing was taken away for idle.
    assert summary.energy_j == pytest.approx(sum(synth.energy_per_pulse_j()), rel=1e-12)
    gap_ticks = sum(b[0] - a[1] for a, b in zip(synth.windows(), synth.windows()[1:], strict=False))
    assert summary.idle is not None and summary.idle.ticks == gap_ticks


def test_one_window_has_no_idle_figure() -> None:
    synth = Synthetic(1000, 1.0, (Pulse(0.2, 0.5, 2e-3),))
    summary = integrate(trace_of(synth), find_windows(trace_of(synth)), inferences=100)
    assert summary.idle_power_w is None
    assert summary.energy_per_inference_j == pytest.approx(3.3 * 2e-3 * 0.5 / 100)


def test_dropped_samples_are_reported_and_bridged() -> None:
    # Drops inside three pulses (ticks [1000, 3000), [5000, 6500), [22000,
    # 26000)) and in an idle gap, none at an edge.
    drop = ((2000, 2050), (2500, 2501), (6000, 6300), (23000, 23999), (8000, 8100))
    synth = five_pulses(noise=0.01, drop=drop)
    trace = trace_of(synth)
    assert trace.lost_samples == synth.dropped == 50 + 1 + 300 + 999 + 100
    windows = find_windows(trace)
    assert [(w.start, w.end) for w in windows.windows] == synth.windows()
    summary = integrate(trace, windows, inferences=5)
    assert summary.lost_samples == synth.dropped
    assert summary.filled_samples == synth.dropped_inside_windows() == 50 + 1 + 300 + 999
    assert summary.idle is not None and summary.idle.filled == 100
    assert (
        relative_error(summary.energy_per_inference_j, synth.expected_energy_per_inference_j())
        < TOLERANCE
    )
    figure = figure_from_trace(trace, 5)
    assert figure.lost_samples == synth.dropped
    assert figure.filled_samples == 1350
    assert "sample(s) lost" in figure.describe()


def test_samples_lost_across_an_edge_make_it_uncertain() -> None:
    synth = five_pulses(drop=((995, 1003),))  # the first pulse starts at tick 1000
    trace = trace_of(synth)
    windows = find_windows(trace)
    first = windows.windows[0]
    assert (first.start, first.end) == (1003, 3000)  # first sample seen high
    assert first.start_uncertainty == 8  # the edge lies among the 8 lost ticks
    assert windows.edge_uncertainty == 8
    figure = figure_from_trace(trace, 5)
    assert figure.edge_uncertainty_samples == 8
    assert any("uncertain" in note for note in figure.notes)


def test_runs_cut_by_the_capture_are_not_windows() -> None:
    synth = Synthetic(
        1000, 1.0, (Pulse(0.0, 0.1, 5e-3), Pulse(0.3, 0.1, 5e-3), Pulse(0.9, 0.1, 5e-3))
    )
    windows = find_windows(trace_of(synth))
    assert [(w.start, w.end) for w in windows.windows] == [(300, 400)]
    assert windows.open_at_start and windows.open_at_end
    figure = figure_from_trace(trace_of(synth), 1)
    assert figure.windows == 1
    assert any("2 marker run(s) cut" in note for note in figure.notes)


def test_marker_mask_selects_the_marker_bit() -> None:
    synth = five_pulses(marker_bit=3, other_bits=0b1)
    assert len(find_windows(trace_of(synth, marker_mask=1 << 3))) == 5
    # Bit 0 is high on every sample: no complete window there.
    assert len(find_windows(trace_of(synth, marker_mask=1))) == 0


def test_no_window_is_an_error_that_says_what_to_check() -> None:
    synth = Synthetic(1000, 1.0, ())
    with pytest.raises(EnergyError, match=r"no complete marker window.*marker wired"):
        figure_from_trace(trace_of(synth), 1)


def test_window_count_is_checked_when_expected() -> None:
    with pytest.raises(EnergyError, match=r"found 5 marker window.*expected 4"):
        figure_from_trace(trace_of(five_pulses()), 4, expected_windows=4)


def test_trace_rejects_a_clock_that_does_not_rise() -> None:
    identity = MeterIdentity("m", "s", 1000, "sync")
    with pytest.raises(EnergyError, match="rise strictly"):
        make_trace(identity, [0, 2, 2], [1, 1, 1], 3.3, [0, 0, 0])
    with pytest.raises(EnergyError, match="differ in length"):
        make_trace(identity, [0, 1, 2], [1, 1], 3.3, [0, 0, 0])


def test_mlperf_median_of_five_ten_second_windows() -> None:
    runs = []
    for k, amplitude in enumerate((5.0e-3, 5.2e-3, 4.9e-3, 6.0e-3, 5.1e-3)):
        synth = Synthetic(1000, 12.0, (Pulse(1.0, 10.0, amplitude),), seed=k)
        trace = trace_of(synth)
        runs.append(integrate(trace, find_windows(trace), inferences=2000))
    result = mlperf_median(runs)
    assert result.median_energy_per_inference_j == pytest.approx(3.3 * 5.1e-3 * 10.0 / 2000)
    with pytest.raises(EnergyError, match="needs 5 runs, got 4"):
        mlperf_median(runs[:4])
    short = Synthetic(1000, 12.0, (Pulse(1.0, 9.5, 5e-3),))
    short_run = integrate(trace_of(short), find_windows(trace_of(short)), inferences=10)
    with pytest.raises(EnergyError, match=r"run 2: 1 window\(s\) lasted 9\.500 s in all, less"):
        mlperf_median([*runs[:2], short_run, *runs[3:]])
    few = integrate(trace_of(five_pulses()), find_windows(trace_of(five_pulses())), inferences=5)
    with pytest.raises(EnergyError, match=r"run 0: 5 window\(s\) lasted"):
        mlperf_median([few, *runs[1:]])
    # One window per inference counts as well: 4 windows of 2.5 s make one 10 s run.
    pulses = tuple(Pulse(0.5 + 3.0 * k, 2.5, 5.1e-3) for k in range(4))
    split = trace_of(Synthetic(1000, 13.0, pulses))
    split_run = integrate(split, find_windows(split), inferences=2000)
    assert mlperf_median([*runs[:4], split_run]).median_energy_per_inference_j == pytest.approx(
        3.3 * 5.1e-3 * 10.0 / 2000
    )


def test_mlperf_inference_count_fills_ten_seconds() -> None:
    assert mlperf_inferences(0.003) == 3334
    assert mlperf_inferences(20.0) == 1
    assert 3334 * 0.003 >= 10.0 > 3333 * 0.003
    with pytest.raises(EnergyError, match="must be positive"):
        mlperf_inferences(0.0)


def test_summary_does_not_depend_on_where_the_trace_starts() -> None:
    synth = five_pulses(noise=0.01)
    trace = trace_of(synth)
    shifted = dataclasses.replace(trace, index=trace.index + 1_000_000)
    a = integrate(trace, find_windows(trace), 5)
    b = integrate(shifted, find_windows(shifted), 5)
    assert a.energy_j == b.energy_j and np.isclose(a.idle_power_w or 0, b.idle_power_w or 0)

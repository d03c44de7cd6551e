"""How a case's energy is measured: one capture of N timed inferences, or
MLPerf Tiny's median of 5 runs of at least 10 s. The device and the meter
are FAKES wired together: the fake meter's trace has a marker window for
every inference the fake device says it ran, of known width and current."""

from __future__ import annotations

import pytest

from hil.energy import EnergyError, Meter, MeterIdentity, Trace, make_trace
from hil.energy.plan import EnergyPlan, measure_energy
from tests.energy_synth import Pulse, Synthetic

RATE = 1000  # S/s: coarse, so 10 s captures stay small
WIDTH_S = 0.050  # each inference
GAP_S = 0.010


class FakeDevice:
    """Runs `n` inferences per call; `windows_per_run` 1 is EEMBC's one window
    around the loop, None one window per inference (hil's protocol)."""

    def __init__(self, windows_per_run: int | None = None) -> None:
        self.windows_per_run = windows_per_run
        self.runs: list[int] = []

    def run(self, n: int) -> int:
        self.runs.append(n)
        return self.windows_per_run or n


class FakeWiredMeter(Meter):
    """A FAKE meter whose marker input is wired to the FakeDevice: each
    capture's trace holds the windows of the inferences run during it, at
    the current `currents` gives for that capture."""

    def __init__(self, device: FakeDevice, currents: list[float], *, drop_window: bool = False):
        self.device = device
        self.currents = currents
        self.drop_window = drop_window
        self.captures = 0
        self._runs_before = 0

    @property
    def identity(self) -> MeterIdentity:
        return MeterIdentity("FAKE wired meter", "F1", RATE, "marker sampled with I and V")

    def open(self) -> None: ...

    def close(self) -> None: ...

    def start_capture(self) -> None:
        self._runs_before = len(self.device.runs)

    def stop_capture(self) -> Trace:
        n = sum(self.device.runs[self._runs_before :])
        amps = self.currents[self.captures]
        self.captures += 1
        if self.device.windows_per_run == 1:  # one window around the whole loop
            pulses: tuple[Pulse, ...] = (Pulse(GAP_S, WIDTH_S * n, amps),)
        else:
            count = n - 1 if self.drop_window else n
            pulses = tuple(
                Pulse(GAP_S + k * (WIDTH_S + GAP_S), WIDTH_S, amps) for k in range(count)
            )
        end = pulses[-1].start_s + pulses[-1].width_s + GAP_S if pulses else GAP_S
        ticks, current, voltage, bits = Synthetic(RATE, round(end, 3), pulses).samples()
        return make_trace(self.identity, ticks, current, voltage, bits)


def per_inference(amps: float) -> float:
    return 3.3 * amps * WIDTH_S


def test_one_capture_of_n_inferences() -> None:
    device = FakeDevice()
    meter = FakeWiredMeter(device, [4.0e-3])
    figure = measure_energy(meter, device.run, EnergyPlan(inferences=7), core_clock_hz=25_000_000)
    assert device.runs == [7]
    assert figure.energy_per_inference_j == pytest.approx(per_inference(4.0e-3), rel=1e-3)
    assert (figure.windows, figure.inferences, figure.modeled) == (7, 7, False)
    assert figure.meter_model == "FAKE wired meter" and figure.core_clock_hz == 25_000_000
    assert figure.window_time_s == pytest.approx(7 * WIDTH_S)


def test_one_window_for_the_whole_loop() -> None:
    device = FakeDevice(windows_per_run=1)
    figure = measure_energy(FakeWiredMeter(device, [2.0e-3]), device.run, EnergyPlan(inferences=4))
    assert (figure.windows, figure.inferences) == (1, 4)
    assert figure.energy_per_inference_j == pytest.approx(per_inference(2.0e-3), rel=1e-3)


def test_a_missed_window_is_an_error_not_a_skewed_figure() -> None:
    device = FakeDevice()
    with pytest.raises(EnergyError, match=r"found 4 marker window\(s\) in the trace, expected 5"):
        measure_energy(
            FakeWiredMeter(device, [1e-3], drop_window=True), device.run, EnergyPlan(inferences=5)
        )


@pytest.mark.parametrize("windows_per_run", [None, 1])
def test_mlperf_median_of_five_runs_of_ten_seconds(windows_per_run: int | None) -> None:
    device = FakeDevice(windows_per_run)
    currents = [9.0e-3, 5.0e-3, 5.2e-3, 4.9e-3, 6.0e-3, 5.1e-3]  # the pilot, then five runs
    meter = FakeWiredMeter(device, currents)
    figure = measure_energy(meter, device.run, EnergyPlan(inferences=10, mlperf=True))
    # The pilot sizes the runs: 10 s / 50 ms = 200 inferences each.
    assert device.runs == [10, 200, 200, 200, 200, 200]
    assert figure.energy_per_inference_j == pytest.approx(per_inference(5.1e-3), rel=1e-3)
    assert figure.inferences == 200 and figure.window_time_s == pytest.approx(10.0)
    assert "median of 5 runs of 200 back-to-back inferences" in figure.method
    assert "energy per inference of each run (J)" in figure.notes[-1]


def test_plan_arguments_are_checked() -> None:
    with pytest.raises(EnergyError, match="energy inferences must be >= 1, got 0"):
        EnergyPlan(inferences=0)
    assert "median of 5 runs of >= 10 s" in EnergyPlan(mlperf=True).describe()


def test_a_device_that_reports_no_windows_is_refused() -> None:
    device = FakeDevice()
    meter = FakeWiredMeter(device, [1e-3])
    with pytest.raises(EnergyError, match="reported 0 marker windows for 3 inferences"):
        measure_energy(meter, lambda n: 0, EnergyPlan(inferences=3))

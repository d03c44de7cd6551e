"""hil's Joulescope and Otii drivers at their packages' API boundary, with
FAKE `joulescope` and `otii_tcp_client` modules put in sys.modules; and the
clear error when an optional package is missing."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from hil.energy import (
    EnergyError,
    Meter,
    MeterNotFoundError,
    MissingPackageError,
    capture,
    figure_from_trace,
    find_windows,
)
from hil.energy.joulescope import JoulescopeMeter
from hil.energy.otii import OtiiMeter
from tests.energy_synth import five_pulses
from tests.fakes import fake_joulescope, fake_otii

DROPS = ((2000, 2050), (6000, 6300), (8000, 8100))


def test_joulescope_by_serial_with_gpi_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = five_pulses(noise=0.01, drop=DROPS)
    other = fake_joulescope.FakeDevice("js110", "000111", synth, 10**7)
    wanted = fake_joulescope.FakeDevice("js220", "004242", synth, 10**7)
    fake_joulescope.install(monkeypatch, [other, wanted])
    with JoulescopeMeter("004242", sample_rate_hz=100_000) as meter:
        trace = capture(meter, lambda: None)
        identity = meter.identity
    assert ("parameter_set", "sampling_frequency", 100_000) in wanted.calls
    assert ("parameter_set", "current_lsb", "gpi0") in wanted.calls
    assert [c[0] for c in wanted.calls][-4:] == ["open", "start", "stop", "close"]
    assert other.calls == []
    assert identity.model == "Joulescope JS220" and identity.serial == "004242"
    assert trace.lost_samples == synth.dropped  # NaN samples are lost ones
    assert trace.index[0] == 123_456  # the device's own sample ids
    assert [(w.start - 123_456, w.end - 123_456) for w in find_windows(trace).windows] == (
        synth.windows()
    )
    figure = figure_from_trace(trace, inferences=5)
    expected = synth.expected_energy_per_inference_j()
    assert abs(figure.energy_per_inference_j - expected) / expected < 1e-3
    assert figure.sync == "GPI0 sampled with current and voltage"


def test_joulescope_not_found_lists_what_is_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    device = fake_joulescope.FakeDevice("js220", "000415", five_pulses(), 10**7)
    fake_joulescope.install(monkeypatch, [device])
    with pytest.raises(
        MeterNotFoundError, match="no Joulescope with serial 9; attached: js220 000415"
    ):
        JoulescopeMeter("9").open()


def test_joulescope_buffer_overflow_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = five_pulses()
    device = fake_joulescope.FakeDevice("js220", "1", synth, synth.n)  # buffer just full
    fake_joulescope.install(monkeypatch, [device])
    with JoulescopeMeter("1", sample_rate_hz=100_000) as meter:
        meter.start_capture()
        with pytest.raises(EnergyError, match="filled the 60 s stream buffer"):
            meter.stop_capture()


def test_otii_by_name_with_digital_input_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = five_pulses(rate_hz=10_000, noise=0.01)
    arc = fake_otii.FakeArc("Arc-bench-3", "dev-7", synth)
    log = fake_otii.install(monkeypatch, [fake_otii.FakeArc("Other", "dev-1", synth), arc])
    with OtiiMeter("Arc-bench-3") as meter:
        trace = capture(meter, lambda: None)
    assert arc.enabled == ["mc", "mv", "i1"]
    assert log == ["connect 127.0.0.1:1905", "start_recording", "stop_recording", "close"]
    assert [(w.start, w.end) for w in find_windows(trace).windows] == synth.windows()
    figure = figure_from_trace(trace, inferences=5)
    expected = synth.expected_energy_per_inference_j()
    assert abs(figure.energy_per_inference_j - expected) / expected < 1e-3
    assert figure.meter_model == "Qoitech Otii Arc" and figure.meter_serial == "dev-7"


def test_otii_failures_name_what_was_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = five_pulses(rate_hz=1000)
    fake_otii.install(monkeypatch, [fake_otii.FakeArc("Arc-1", "dev-1", synth)])
    with pytest.raises(
        MeterNotFoundError, match=r"no Otii device named 'Ace-2'; attached: Arc-1 \(dev-1\)"
    ):
        OtiiMeter("Ace-2").open()
    fake_otii.install(monkeypatch, [], server_up=False)
    with pytest.raises(MeterNotFoundError, match=r"no Otii TCP server at 127\.0\.0\.1:1905"):
        OtiiMeter("Arc-1").open()


@pytest.mark.parametrize(
    ("meter", "package"),
    [
        (lambda: JoulescopeMeter("1"), "joulescope"),
        (lambda: OtiiMeter("Arc"), "otii-tcp-client"),
    ],
)
def test_missing_package_is_named(
    monkeypatch: pytest.MonkeyPatch, meter: Callable[[], Meter], package: str
) -> None:
    for name in (
        "joulescope",
        "joulescope.v1",
        "otii_tcp_client",
        "otii_tcp_client.otii",
        "otii_tcp_client.otii_connection",
    ):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    with pytest.raises(MissingPackageError, match=f"pip install {package}"):
        meter().open()

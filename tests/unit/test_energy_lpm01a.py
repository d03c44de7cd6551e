"""hil's LPM01A driver against a FAKE PowerShield speaking its ASCII protocol
over a pseudo-terminal: commands acknowledged, windows from D7 events in the
sample stream, energy within 0.1 %."""

from __future__ import annotations

import os
import tty

import numpy as np
import pytest

from hil.energy import EnergyError, MeterNotFoundError, capture, figure_from_trace, find_windows
from hil.energy.lpm01a import Lpm01aMeter, parse_stream
from tests.energy_synth import Pulse, Synthetic
from tests.fakes.fake_lpm01a import BOARD_ID, FakeLpm01a, ascii_dec


def synth(noise: float = 0.005) -> Synthetic:
    pulses = (Pulse(0.1, 0.2, 4.2e-3), Pulse(0.5, 0.1, 7.3e-3), Pulse(0.8, 0.3, 2.6e-3))
    return Synthetic(5000, 1.3, pulses, idle_a=0.41e-3, noise=noise)


def test_capture_against_the_fake() -> None:
    fake = FakeLpm01a(synth())
    try:
        with Lpm01aMeter(port=fake.port, supply_mv=3300, sample_rate_hz=5000) as meter:
            trace = capture(meter, lambda: fake.streamed.wait(10))
            identity = meter.identity
    finally:
        fake.close()
    assert [(w.start, w.end) for w in find_windows(trace).windows] == fake.synth.windows()
    figure = figure_from_trace(trace, inferences=3, expected_windows=3)
    expected = fake.synth.expected_energy_per_inference_j()
    assert abs(figure.energy_per_inference_j - expected) / expected < 1e-3
    assert identity.serial == BOARD_ID and "1.0.4-fake" in identity.model
    assert identity.loss_detection.startswith("none")
    assert figure.supply_v == pytest.approx(3.3)
    assert fake.commands[:3] == ["htc", "powershield", "version"]
    assert {
        "volt 3300m",
        "freq 5k",
        "acqtime 0",
        "output current",
        "format ascii_dec",
        "trigsrc sw",
        "eventsrc d7 ris",
        "eventsrc d7 fal",
        "pwr on",
    } <= set(fake.commands)
    assert fake.commands[-3:] == ["start", "stop", "hrc"]


def test_a_refused_command_names_it() -> None:
    fake = FakeLpm01a(synth(), refuse=("freq 5k",))
    try:
        with pytest.raises(EnergyError, match="PowerShield refused 'freq 5k'"):
            Lpm01aMeter(port=fake.port).open()
    finally:
        fake.close()


def test_no_reply_fails_fast() -> None:
    master, slave = os.openpty()  # a terminal with nobody on the far side
    tty.setraw(slave)
    try:
        meter = Lpm01aMeter(port=os.ttyname(slave), reply_timeout_s=0.3)
        with pytest.raises(MeterNotFoundError, match=r"no reply to 'htc'.*PowerShield"):
            meter.open()
    finally:
        os.close(master)
        os.close(slave)


def test_parse_stream_reads_values_and_events() -> None:
    text = "\n".join(["6409-07", "event 1 ris", "4200-06", "4100-06", "event 2 fal", "1000-06"])
    current, levels, events = parse_stream(text)
    assert np.allclose(current, [640.9e-6, 4.2e-3, 4.1e-3, 1e-3])
    assert list(levels) == [0, 1, 1, 0] and events == 2
    with pytest.raises(EnergyError, match="reported during the acquisition"):
        parse_stream("1000-06\nError: buffer overrun\n")


def test_fake_encoding_round_trips() -> None:
    for amps in (640.9e-6, 4.2e-3, 9.9996e-3, 1.5e-7):
        (value,), _, _ = parse_stream(ascii_dec(amps))
        assert value == pytest.approx(amps, rel=1e-3)


def test_settings_are_checked() -> None:
    with pytest.raises(EnergyError, match="not an unlimited ascii_dec rate"):
        Lpm01aMeter(sample_rate_hz=10_000)
    with pytest.raises(EnergyError, match=r"supply_mv 5000 outside \(1800, 3300\)"):
        Lpm01aMeter(supply_mv=5000)

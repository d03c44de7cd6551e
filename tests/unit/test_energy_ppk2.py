"""hil's PPK2 driver against a FAKE PPK2 speaking the serial protocol over a
pseudo-terminal: windows from logic input D0, energy within 0.1 %, lost
samples counted from the sample counter."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pytest
import serial.tools.list_ports

from hil.energy import EnergyError, MeterNotFoundError, capture, figure_from_trace, find_windows
from hil.energy.ppk2 import Ppk2Meter, decode
from tests.energy_synth import Synthetic, five_pulses
from tests.fakes.fake_ppk2 import FakePpk2

# Under 64 lost in a row each: the 6-bit counter counts them exactly.
DROPS = ((2000, 2050), (6000, 6063), (8000, 8001), (12000, 12040))


@pytest.fixture
def fake() -> Iterator[FakePpk2]:
    fake = FakePpk2(five_pulses(noise=0.01, drop=DROPS, other_bits=0b0100_0100))
    yield fake
    fake.close()


def test_capture_finds_windows_energy_and_lost_samples(fake: FakePpk2) -> None:
    synth = fake.synth
    with Ppk2Meter(port=fake.port, source_mv=3300) as meter:
        trace = capture(meter, lambda: fake.streamed.wait(10))
    assert trace.identity.sample_rate_hz == 100_000
    assert trace.lost_samples == synth.dropped == 50 + 63 + 1 + 40
    assert [(w.start, w.end) for w in find_windows(trace).windows] == synth.windows()
    figure = figure_from_trace(trace, inferences=5, expected_windows=5)
    expected = synth.expected_energy_per_inference_j()
    assert abs(figure.energy_per_inference_j - expected) / expected < 1e-3
    assert figure.lost_samples == synth.dropped
    assert figure.filled_samples == synth.dropped_inside_windows()
    assert figure.meter_model == "Nordic PPK2 (HW 9173)"
    assert "set point 3300 mV" in " ".join(figure.notes)
    assert fake.wait_commands(7) == [
        (0x19,),  # metadata
        (0x11, 2),  # source meter
        (0x0D, 3300 >> 8, 3300 & 0xFF),  # regulator in mV
        (0x0C, 1),  # DUT power on
        (0x06,),  # start
        (0x07,),  # stop
        (0x0C, 0),  # DUT power off on close
    ]


def test_marker_on_another_logic_input() -> None:
    fake = FakePpk2(five_pulses(marker_bit=5))
    try:
        with Ppk2Meter(port=fake.port, supply_v=3.3, marker_channel=5) as meter:
            trace = capture(meter, lambda: fake.streamed.wait(10))
    finally:
        fake.close()
    assert len(find_windows(trace)) == 5
    assert fake.commands[1] == (0x11, 1)  # ampere meter: no regulator, no DUT power
    assert (0x0D, 3300 >> 8, 3300 & 0xFF) not in fake.commands


def test_a_port_without_a_ppk2_fails_fast() -> None:
    fake = FakePpk2(Synthetic(100_000, 0.01, ()), silent=True)
    try:
        meter = Ppk2Meter(port=fake.port, source_mv=1800, reply_timeout_s=0.3)
        with pytest.raises(MeterNotFoundError, match=r"no metadata \(GetMetadata, 0x19\) reply"):
            meter.open()
        assert meter._serial is None  # the port was let go
    finally:
        fake.close()


def test_discovery_names_what_it_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyACM0", vid=0x0483, pid=0x374B, serial_number="ST1"),
        SimpleNamespace(device="/dev/ttyACM1", vid=0x1915, pid=0xC00A, serial_number="PPK-A"),
    ]
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: ports)
    with pytest.raises(MeterNotFoundError, match=r"no Nordic PPK2 found \(USB 1915:\* serial B\)"):
        Ppk2Meter(serial_number="B", source_mv=3300).open()
    with pytest.raises(MeterNotFoundError, match=r"/dev/ttyACM0 .*0483:374b serial ST1"):
        Ppk2Meter(serial_number="B", source_mv=3300).open()


def test_decode_places_samples_by_counter() -> None:
    counters = [62, 63, 0, 1, 5, 6]  # wraps cleanly, then 3 lost (2, 3, 4)
    words = np.asarray([100 | 1 << 14 | c << 18 | 0x81 << 24 for c in counters], dtype="<u4")
    decoded = decode(words.tobytes() + b"\x01\x02")
    assert list(decoded.index) == [0, 1, 2, 3, 7, 8]
    assert list(decoded.logic) == [0x81] * 6 and list(decoded.rng) == [1] * 6
    assert decoded.trailing_bytes == 2 and decoded.corrupt == 0


def test_a_run_of_64_or_more_lost_is_undercounted_as_documented() -> None:
    counters = [0, 1, 2 + 64 + 3]  # 67 lost: the counter shows 3
    words = np.asarray([(c % 64) << 18 for c in counters], dtype="<u4")
    assert list(decode(words.tobytes()).index) == [0, 1, 5]


def test_mode_arguments_are_checked() -> None:
    with pytest.raises(EnergyError, match=r"exactly one of source_mv .* or supply_v"):
        Ppk2Meter()
    with pytest.raises(EnergyError, match="exactly one of"):
        Ppk2Meter(source_mv=3300, supply_v=3.3)
    with pytest.raises(EnergyError, match=r"marker_channel must be 0\.\.7"):
        Ppk2Meter(source_mv=3300, marker_channel=8)
    with pytest.raises(EnergyError, match=r"source_mv 6000 outside \(800, 5000\)"):
        Ppk2Meter(source_mv=6000)

"""faulty:// (hil/link/urls/protocol_faulty.py) over pyserial's loop://, where
what is written comes back to be read: writes pass the to-device faults, reads
the to-host ones."""

from __future__ import annotations

import pytest
import serial

from hil.link.urls import open_url
from hil.link.urls.faults import FaultRates, faulty_url, parse_faults
from hil.link.urls.protocol_faulty import Serial as FaultySerial
from hil.targets.base import link_url

DATA = bytes(range(256)) * 8


def round_trip(url: str, data: bytes = DATA) -> tuple[FaultySerial, bytes]:
    port = open_url(url, timeout=0.01)
    assert isinstance(port, FaultySerial)
    port.write(data)
    got = bytearray()
    while chunk := port.read(4096):
        got += chunk
    port.close()
    return port, bytes(got)


def test_no_faults_is_a_clean_pipe() -> None:
    port, got = round_trip("faulty://loop://")
    assert got == DATA
    assert port.to_device_stats.faults == port.to_host_stats.faults == 0
    assert bytes(port.to_device_stats.clean) == DATA


def test_each_fault_kind_does_what_it_says() -> None:
    port, got = round_trip("faulty://loop://?device.drop=0.1&seed=3")
    assert len(got) == len(DATA) - port.to_device_stats.dropped > 0
    assert port.to_device_stats.dropped > 100 and port.to_host_stats.faults == 0

    port, got = round_trip("faulty://loop://?host.corrupt=0.1&seed=3")
    flipped = [a ^ b for a, b in zip(got, DATA, strict=True) if a != b]
    assert len(flipped) == port.to_host_stats.corrupted > 100
    assert all(bin(x).count("1") == 1 for x in flipped)  # one bit per damaged byte

    port, got = round_trip("faulty://loop://?duplicate=0.05&seed=3")
    dups = port.to_device_stats.duplicated + port.to_host_stats.duplicated
    assert len(got) == len(DATA) + dups and dups > 50


def test_faults_are_reproducible_by_seed() -> None:
    url = "faulty://loop://?corrupt=0.02&drop=0.01&seed=11"
    assert round_trip(url)[1] == round_trip(url)[1]
    assert round_trip(url)[1] != round_trip(url.replace("seed=11", "seed=12"))[1]


def test_disabled_until_switched_on() -> None:
    port = open_url(faulty_url("loop://", FaultRates(drop=1.0), enabled=False), timeout=0.01)
    assert isinstance(port, FaultySerial)
    port.write(b"setup")
    assert port.read(5) == b"setup"
    port.set_enabled(True)
    port.write(b"lost")
    assert port.read(4) == b""
    port.close()


def test_delay_holds_bytes_back() -> None:
    spec = parse_faults("faulty://loop://?delay=1&max_delay=0.002")
    assert spec.to_device.delay == 1.0 and spec.to_host.max_delay_s == 0.002
    port, got = round_trip("faulty://loop://?delay=0.5&max_delay=0.001", DATA[:64])
    assert got == DATA[:64] and port.to_device_stats.delayed > 0


def test_the_settings_are_the_last_query_string() -> None:
    spec = parse_faults("faulty://rfc2217://h:4000?logging=debug?host.corrupt=0.5&seed=4")
    assert spec.inner == "rfc2217://h:4000?logging=debug"
    assert spec.to_host.corrupt == 0.5 and spec.to_device.corrupt == 0.0 and spec.seed == 4
    rates = FaultRates(corrupt=0.01, drop=0.005, delay=0.1, max_delay_s=0.01)
    spec = parse_faults(faulty_url("socket://127.0.0.1:9", rates, seed=2024))
    assert (spec.inner, spec.to_device, spec.to_host, spec.seed) == (
        "socket://127.0.0.1:9", rates, rates, 2024
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("faulty://loop://?drop=2", "drop rate must be within"),
        ("faulty://loop://?drop=x", "drop='x' is not a number"),
        ("faulty://loop://?flip=0.1", "unknown setting 'flip'"),
        ("faulty://loop://?enabled=yes", "enabled='yes'"),
        ("faulty://127.0.0.1:4000", "wraps another port or URL"),
    ],
)
def test_bad_urls_are_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(serial.SerialException, match=message):
        open_url(url, timeout=0.01)


def test_a_board_serial_url_can_wrap_the_targets_own() -> None:
    own = "socket://127.0.0.1:5555"
    assert link_url({}, own) == own
    assert link_url({"url": "faulty://{uart}?drop=0.1"}, own) == f"faulty://{own}?drop=0.1"
    assert link_url({"url": "rfc2217://h:1"}, own) == "rfc2217://h:1"

"""The protocol under a damaged link: no wrong result is ever accepted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hil.boards import load_board, resolve
from hil.boards.resolve import Resolution
from hil.device.dut import Dut
from hil.errors import LinkError
from hil.link.framing import Frame, FrameSplitter
from hil.link.urls.faults import FaultRates, faulty_url
from hil.link.urls.protocol_faulty import Serial as FaultySerial
from hil.model.file import ModelFile
from hil.references import TflmReference
from hil.targets.base import UART_PLACEHOLDER

EXCHANGES = 10_000
DAMAGE = FaultRates(corrupt=0.01, drop=0.005)


def faulty_board(name: str, rates: FaultRates, seed: int) -> Resolution:
    """The board with its UART opened through faulty:// (off until enabled),
    the way a board file's [serial] url would put it there. The faults are on
    the UART: tests using it pin transport="serial"."""
    res = resolve(load_board(name))
    url = faulty_url(UART_PLACEHOLDER, rates, seed=seed, enabled=False)
    return dataclasses.replace(res, board=dataclasses.replace(res.board, serial={"url": url}))


def faulty_link(dut: Dut) -> FaultySerial:
    """The faulty:// port the device's session talks through."""
    port = dut.session.port
    assert isinstance(port, FaultySerial), port
    return port


def frames_sent(stream: bytes) -> set[Frame]:
    return {f for f in FrameSplitter().feed(bytes(stream) + b"\x00") if isinstance(f, Frame)}


def test_10000_exchanges_at_1pct_corruption_and_half_pct_loss(
    models_dir: Path, record_property: pytest.RecordProperty
) -> None:
    model = ModelFile(models_dir / "hello_world_int8.tflite")
    oracle = TflmReference(model.data, 1)
    expected = {x: oracle.run([np.array([[x]], np.int8)])[0].tobytes() for x in range(-128, 128)}
    with Dut(faulty_board("corstone300", DAMAGE, seed=2024), transport="serial") as dut:
        dut.load(model)  # set-up on a clean link; the exchanges below are damaged
        faulty = faulty_link(dut)
        session = dut.session
        # QEMU answers within milliseconds; a short timeout keeps lost frames cheap,
        # and a generous retry budget rides out a loaded machine.
        session.timeout = 0.1
        session.retries = 30
        accepted: list[Frame] = []
        session.on_accept = accepted.append
        faulty.set_enabled(True)

        rng = np.random.default_rng(7)
        exchanges = wrong = failed = retried = 0
        while exchanges < EXCHANGES:
            x = int(rng.integers(-128, 128))
            steps = [
                lambda value=x: session.set_input(0, np.int8(value).tobytes()),
                session.invoke,
                lambda: session.get_output(0, 1),
            ]
            result = None
            for step in steps:
                before = session.stats.retries
                try:
                    result = step()
                except LinkError:
                    failed += 1
                    break
                finally:
                    exchanges += 1
                    retried += session.stats.retries > before
            else:
                wrong += result != expected[x]
        faulty.set_enabled(False)
        stats = session.stats
        injected = faulty.to_device_stats.faults + faulty.to_host_stats.faults
        summary = (
            f"{exchanges} exchanges; faults injected: {faulty.to_device_stats.faults} to device, "
            f"{faulty.to_host_stats.faults} to host; detected: {stats.bad_frames} bad frames on "
            f"the host, {stats.naks} NAKs from the device, {stats.timeouts} timeouts; "
            f"{retried} exchanges recovered by retry ({stats.retries} resends); "
            f"{failed} failed as link errors; {wrong} wrong"
        )
        print(summary)
        record_property("link_fault_summary", summary)
        clean = frames_sent(faulty.to_host_stats.clean)

    assert wrong == 0
    assert failed == 0
    assert injected > 500 and stats.bad_frames > 0 and stats.naks > 0 and retried > 0
    # Every response the host accepted is byte for byte a frame the device sent.
    forged = [f for f in accepted if f not in clean]
    assert forged == []
    assert len(accepted) >= EXCHANGES


def test_duplicated_and_delayed_bytes_are_survived(models_dir: Path) -> None:
    model = ModelFile(models_dir / "hello_world_int8.tflite")
    rates = FaultRates(duplicate=0.01, delay=0.01, max_delay_s=0.01)
    with Dut(faulty_board("mps2-an386", rates, seed=9), timeout=0.5, transport="serial") as dut:
        dut.load(model)
        faulty = faulty_link(dut)
        faulty.set_enabled(True)
        dut.session.retries = 15
        oracle = TflmReference(model.data, 1)
        for x in range(-128, 128, 4):
            dut.session.set_input(0, np.int8(x).tobytes())
            dut.session.invoke()
            got = dut.session.get_output(0, 1)
            assert got == oracle.run([np.array([[x]], np.int8)])[0].tobytes()
        assert faulty.to_device_stats.duplicated + faulty.to_host_stats.duplicated > 0
        assert dut.session.stats.retries > 0

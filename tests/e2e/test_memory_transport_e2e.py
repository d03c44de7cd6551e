"""The memory transport (mailbox through QEMU's gdbstub) against the serial
link: same outputs bit for bit, same instruction counts, a fallback to serial
when the debug port is absent, clear errors for a dead port, and damaged or
stale mailbox bytes rejected by CRC and sequence number."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest

from hil.boards import load_board
from hil.boards.resolve import resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.errors import LinkError, Status
from hil.link.framing import Frame, FrameSplitter, encode_frame
from hil.link.gdbremote import GdbRemote
from hil.link.mailbox import WR, MailboxPort
from hil.link.protocol import Command, Event
from hil.targets.memory_link import memory_or_serial

BOARDS = ["corstone300", "mps2-an386"]


def _run(board: str, transport: str, model: Path) -> tuple[str, list[bytes], list[int]]:
    with Dut(resolve(load_board(board)), variant="test", transport=transport) as dut:
        case = ModelCase(model, vectors=3, seed=7)
        result = run_case(dut, case, warmup=1, repeats=2)
        assert result.passed
        outputs = [o.tobytes() for v in result.vectors for o in v.outputs]
        counts = [int(m.value) for v in result.vectors for m in v.measurements]
        return dut.transport_used, outputs, counts


@pytest.mark.parametrize("board", BOARDS)
def test_memory_and_serial_agree_bit_for_bit(board: str, models_dir: Path) -> None:
    model = models_dir / "hello_world_int8.tflite"
    used_s, out_s, counts_s = _run(board, "serial", model)
    used_m, out_m, counts_m = _run(board, "memory", model)
    assert (used_s, used_m) == ("serial", "memory")
    assert out_m == out_s and len(out_s) == 3
    # Halting the emulator to move bytes leaves -icount counts untouched.
    assert counts_m == counts_s and all(c > 0 for c in counts_s)


def test_unreachable_debug_port_falls_back_to_serial(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens here once closed
    with Dut(resolve(load_board("mps2-an386")), variant="test", transport="memory") as dut:
        assert dut.target is not None
        link, used = memory_or_serial(dut.image.elf, dead, dut.target.link)  # type: ignore[union-attr,arg-type]
        assert used == "serial" and link is dut.target.link  # type: ignore[union-attr]
        assert "using the serial link" in caplog.text
        assert dut.session.hello().build_id == dut.image.build_id  # type: ignore[union-attr]


def test_silent_debug_port_is_an_error_not_a_hang() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # accepts, never answers
        start = time.monotonic()
        with pytest.raises(LinkError, match="did not answer in time"):
            GdbRemote("127.0.0.1", server.getsockname()[1], timeout=0.5)
        assert time.monotonic() - start < 5


def test_damaged_and_stale_mailbox_frames_are_never_accepted() -> None:
    with Dut(resolve(load_board("mps2-an386")), variant="test", transport="memory") as dut:
        assert dut.transport_used == "memory"
        session = dut.session
        link = session.port
        assert isinstance(link, MailboxPort)
        good = session.hello()
        # A frame damaged in the mailbox: the device refuses it (a NAK for a
        # bad frame), it does not answer the request.
        frame = bytearray(encode_frame(Command.HELLO, 900, struct.pack("<I", 1)))
        frame[5] ^= 0x40
        link.write(bytes(frame))
        link.timeout = 2.0
        answers = list(FrameSplitter().feed(link.read(1 << 12)))
        assert answers and all(isinstance(a, Frame) for a in answers)
        assert [(a.type, a.status) for a in answers] == [(Event.NAK, Status.BAD_FRAME)]  # type: ignore[union-attr]
        # A stale answer left in the up ring (as after an earlier request)
        # is not taken for the next one: the nonce and sequence decide.
        link.write(encode_frame(Command.HELLO, 901, struct.pack("<I", 2)))
        time.sleep(0.2)
        before = session.stats.stale_frames
        payload = session.request(Command.HELLO, struct.pack("<I", 3))
        assert payload[:4] == struct.pack("<I", 3)
        assert session.stats.stale_frames == before + 1
        assert session.hello().build_id == good.build_id


def test_a_debug_port_that_refuses_falls_back_to_serial_with_a_message(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole path: a device asked for memory on a QEMU started without its
    gdbstub (the port hil connects to refuses) says so in one line, runs its
    case over the UART, and the result names serial."""
    import hil.targets.qemu

    monkeypatch.setattr(hil.targets.qemu, "gdb_args", lambda port: [])
    with Dut(resolve(load_board("mps2-an386")), transport="memory") as dut:
        assert dut.transport_choice.transport == "memory"
        assert dut.transport_used == "serial"
        assert not isinstance(dut.session.port, MailboxPort)
        result = run_case(dut, ModelCase(models_dir / "hello_world_int8.tflite", vectors=2))
    assert result.passed and result.transport == "serial"
    assert result.to_dict()["transport_used"] == "serial"
    notices = [r.getMessage() for r in caplog.records if "using the serial link" in r.getMessage()]
    assert len(notices) == 1 and "cannot be reached" in notices[0], caplog.text


def test_a_corrupted_ring_offset_is_refused_and_a_reset_recovers() -> None:
    """An up-ring write offset outside the ring (a stale or overwritten
    control block): the host refuses to read through it, and a reset brings
    the device back on the memory transport."""
    with Dut(resolve(load_board("mps2-an386")), variant="test", transport="memory") as dut:
        port = dut.session.port
        assert isinstance(port, MailboxPort)
        memory, up_ring = port._memory, port._up_ring
        memory.halt()
        try:
            memory.write(up_ring + 4 * WR, struct.pack("<I", 0x7FFF_0000))
        finally:
            memory.resume()
        with pytest.raises(LinkError, match="up ring offsets out of range") as info:
            dut.session.hello()
        assert dut.recover(info.value)
        assert dut.transport_used == "memory"
        assert dut.session.hello().build_id == dut.image.build_id  # type: ignore[union-attr]

"""Session recovery on a noisy link, against a scripted device: backoff,
resynchronisation, time-based retry limits, honest hang messages, and chunk
sizes that follow the link's health."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import pytest

from hil.errors import DeviceHangError, note_reset
from hil.link.framing import Frame, FrameSplitter, encode_frame
from hil.link.protocol import RESPONSE_BIT, Command, Event
from hil.link.recovery import MIN_CHUNK, ChunkSizer, backoff_delay, needs_resync
from hil.link.session import Session

JUNK = b"\x00\x13\x37junk\xff\x00"


class ScriptedDevice:
    """A serial port whose far end answers each request frame with `answer`."""

    def __init__(self, answer: Callable[[Frame], bytes]) -> None:
        self.answer = answer
        self.pending = bytearray()
        self.timeout: float | None = 0.0
        self.requests: list[Frame] = []
        self.flushed_input = 0
        self._splitter = FrameSplitter()

    def write(self, data: bytes) -> int:
        for frame in self._splitter.feed(data):
            if isinstance(frame, Frame):
                self.requests.append(frame)
                self.pending += self.answer(frame)
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self.flushed_input += 1
        self.pending.clear()

    def read(self, size: int = 1) -> bytes:
        if not self.pending:
            time.sleep(self.timeout or 0.0)
            return b""
        out = bytes(self.pending[:size])
        del self.pending[:size]
        return out


def ok(frame: Frame, payload: bytes = b"\x01\x00\x00\x00") -> bytes:
    return encode_frame(frame.type | RESPONSE_BIT, frame.seq, payload)


def test_a_burst_of_junk_is_waited_out_with_backoff_and_a_resync() -> None:
    noisy_until = time.monotonic() + 0.3

    def answer(frame: Frame) -> bytes:
        if time.monotonic() < noisy_until:
            return JUNK + encode_frame(Event.NAK, 0, b"bad crc", status=1)
        return ok(frame)

    port = ScriptedDevice(answer)
    session = Session(port, timeout=0.05, retries=3, patience=2.0)
    started = time.monotonic()
    assert session.request(Command.RESET) == b"\x01\x00\x00\x00"
    assert time.monotonic() - started >= 0.3
    stats = session.stats
    # Immediate resends would have sent hundreds of frames in 0.3 s; the
    # backoff (capped at 32 ms) keeps it to a few dozen.
    assert 2 < len(port.requests) < 40
    assert stats.retries == len(port.requests) - 1 == session.last_attempts - 1
    assert stats.resyncs >= 1 and port.flushed_input >= 1
    assert stats.backoff_s > 0.1
    assert stats.bad_frames > 0 and stats.naks > 0
    assert stats.failed_requests == 0


def test_the_link_recovers_by_itself_once_the_noise_stops() -> None:
    noisy = [True]
    port = ScriptedDevice(lambda f: JUNK if noisy[0] else ok(f))
    session = Session(port, timeout=0.02, retries=2, patience=0.2)
    with pytest.raises(DeviceHangError):
        session.request(Command.RESET)
    noisy[0] = False
    for _ in range(5):
        assert session.request(Command.RESET) == b"\x01\x00\x00\x00"
        assert session.last_attempts == 1


def test_noise_that_never_stops_fails_after_the_time_budget_with_real_figures() -> None:
    port = ScriptedDevice(lambda f: JUNK)
    session = Session(port, timeout=0.05, retries=3, patience=0.5)
    started = time.monotonic()
    with pytest.raises(DeviceHangError) as info:
        session.request(Command.INVOKE)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.9
    error = info.value
    assert error.attempts == len(port.requests) > 3  # more than `retries` allows for silence
    assert abs(error.elapsed - elapsed) < 0.05
    text = str(error)
    assert f"in {error.elapsed:.2f} s" in text
    assert f"{error.attempts} attempts" in text
    assert f"{error.damaged} answered by a damaged frame or NAK" in text
    assert "reset" not in text  # nothing was reset
    assert session.stats.failed_requests == 1


def test_a_silent_device_is_declared_hung_after_its_retries() -> None:
    port = ScriptedDevice(lambda f: b"")
    session = Session(port, timeout=0.05, retries=2)
    started = time.monotonic()
    with pytest.raises(DeviceHangError) as info:
        session.request(Command.INVOKE)
    elapsed = time.monotonic() - started
    assert len(port.requests) == 3
    assert 0.15 <= elapsed < 0.4
    assert "3 attempts: 3 timed out after 0.05 s each" in str(info.value)
    assert "reset" not in str(info.value)


def test_the_message_says_the_target_was_reset_only_once_it_was() -> None:
    error = DeviceHangError("INVOKE", 1.0, 2)
    assert "reset" not in str(error)
    note_reset(error)
    assert str(error).endswith("; the target was reset")
    assert error.target_reset


def test_a_late_answer_during_the_backoff_is_accepted_without_a_resend() -> None:
    def answer(frame: Frame) -> bytes:
        return JUNK + ok(frame)  # junk first, then the real answer

    port = ScriptedDevice(answer)
    session = Session(port, timeout=0.05)
    assert session.request(Command.RESET) == b"\x01\x00\x00\x00"
    assert len(port.requests) == 1 and session.stats.bad_frames == 1


def test_backoff_grows_exponentially_and_is_bounded() -> None:
    delays = [backoff_delay(n) for n in range(1, 12)]
    assert delays[0] == pytest.approx(0.001)
    assert delays[1] == pytest.approx(2 * delays[0])
    assert max(delays) == delays[-1] == pytest.approx(0.032)
    assert backoff_delay(0) == 0.0
    assert [n for n in range(1, 20) if needs_resync(n)] == [6, 12, 18]


def test_chunks_shrink_while_frames_fail_and_grow_back_when_clean() -> None:
    sizer = ChunkSizer(2040)
    assert sizer.size == 2040
    for _ in range(10):
        sizer.record(attempts=5)
    assert sizer.size == MIN_CHUNK
    sizer.record(attempts=2)  # one resend: neither shrink nor count as clean
    assert sizer.size == MIN_CHUNK and sizer.clean_run == 0
    for _ in range(4 * 8):
        sizer.record(attempts=1)
    assert sizer.size == 2040
    assert sizer.shrinks == 7 and sizer.grows == 7


def test_transfers_use_the_adapted_chunk_size() -> None:
    received = bytearray()

    def answer(frame: Frame) -> bytes:
        if frame.type == Command.SET_INPUT:
            (offset,) = struct.unpack_from("<I", frame.payload, 4)
            data = frame.payload[8:]
            received[offset : offset + len(data)] = data
            return ok(frame, struct.pack("<I", len(received)))
        return ok(frame)

    port = ScriptedDevice(answer)
    session = Session(port, timeout=0.05)
    session.chunks = ChunkSizer(64, size=32)
    session.set_input(0, bytes(range(100)))
    assert bytes(received) == bytes(range(100))
    sizes = [len(f.payload) - 8 for f in port.requests]
    assert sizes == [32, 32, 32, 4]

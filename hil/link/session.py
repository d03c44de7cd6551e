"""One conversation with a device agent over a byte link (pyserial)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import serial

from hil.errors import (
    DeviceError,
    DeviceFaultError,
    DeviceHangError,
    DeviceResetError,
    LinkError,
    Status,
)
from hil.link.framing import BadFrame, Frame, FrameSplitter, encode_frame
from hil.link.io import read_some
from hil.link.protocol import (
    INVOKE_PROFILE,
    MAX_REPEATS,
    RESPONSE_BIT,
    Calibration,
    Command,
    Counters,
    DebugOp,
    Event,
    FaultReport,
    Hello,
    ProtocolError,
    parse_tensor_info,
)
from hil.link.recovery import SHRINK_AFTER_DAMAGE, ChunkSizer, backoff_delay, needs_resync
from hil.measurements.counters import CounterKind
from hil.model.tensor import TensorSpec

log = logging.getLogger(__name__)

# The deadline passed with no answer (as opposed to a damaged one).
TIMED_OUT = Frame(0, 0, 0, 0, b"")

# A resynchronisation reads until the line has been quiet this long (or at most
# RESYNC_DRAIN_MAX_S): what is still in flight is an older answer or junk.
RESYNC_QUIET_S = 0.01
RESYNC_DRAIN_MAX_S = 0.25

# Every request may be resent: the device answers a repeat of the request it
# handled last (same seq, type and CRC) from its saved response, without
# executing it again (docs/protocol.md, "Retries").


class _TooBig(Exception):
    """A transfer chunk keeps being damaged: send it in smaller pieces."""


@dataclass
class LinkStats:
    """What the link went through; reported so flaky links are visible."""

    requests: int = 0
    retries: int = 0
    bad_frames: int = 0
    stale_frames: int = 0
    naks: int = 0
    timeouts: int = 0
    #: Drain-and-flush resynchronisations after a burst of damage.
    resyncs: int = 0
    #: Seconds spent waiting (listening) between a failure and the resend.
    backoff_s: float = 0.0
    #: Requests that ran out of time or attempts (each raised DeviceHangError).
    failed_requests: int = 0
    chunk_shrinks: int = 0
    chunk_grows: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def as_dict(self) -> dict[str, int | float]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class LoadedModel:
    sha256: str
    crc32: int
    nbytes: int
    arena_used: int | None  # None where the protocol cannot report it (EEMBC)
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    #: Device counter ticks spent parsing, planning and preparing the model.
    load_ticks: int | None = None
    load_counter: CounterKind = CounterKind.NONE
    linked: bool = False  # run in place from the image (flash), not uploaded


@dataclass
class Session:
    """Host side of the protocol. Not thread-safe: one request at a time."""

    port: serial.SerialBase
    timeout: float = 5.0
    retries: int = 3
    #: Seconds a request may spend on a noisy link (None: timeout * (1 + retries)).
    patience: float | None = None
    stats: LinkStats = field(default_factory=LinkStats)
    hello_info: Hello | None = None
    #: The model the device holds now, as far as this session knows.
    loaded: LoadedModel | None = None
    #: Called with every response accepted as the answer to a request.
    on_accept: Callable[[Frame], None] | None = None
    #: Transfer chunk size, adapted to the link (None: from HELLO's frame size).
    chunks: ChunkSizer | None = None
    #: Sends the last request took (1: no resend).
    last_attempts: int = 0
    _seq: int = 0
    _splitter: FrameSplitter = field(default_factory=FrameSplitter)
    _pending: list[Frame | BadFrame] = field(default_factory=list)

    # -- transport -------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def _send(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"link write failed: {exc}") from exc
        self.stats.bytes_sent += len(data)

    def _read_frame(self, deadline: float) -> Frame | BadFrame | None:
        """The next frame (valid or not) before the deadline, or None."""
        while True:
            if self._pending:
                return self._pending.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                data = read_some(self.port, min(remaining, 0.05))
            except (serial.SerialException, OSError) as exc:
                raise LinkError(f"link read failed: {exc}") from exc
            if not data:
                continue
            self.stats.bytes_received += len(data)
            self._pending.extend(self._splitter.feed(data))

    def request(
        self,
        command: Command,
        payload: bytes = b"",
        *,
        timeout: float | None = None,
        accept: Callable[[Frame], bool] | None = None,
        shrinkable: bool = False,
    ) -> bytes:
        """Send a request and return the payload of its (intact) response.
        With `shrinkable`, repeated damage raises _TooBig early, so that the
        transfer can resend its chunk in smaller pieces.

        A silent device is given 1 + `retries` waits of `timeout` each; a noisy
        link (damaged answers, NAKs) is given `patience` seconds in all, with
        bounded exponential backoff between resends and a resynchronisation
        after a burst (hil/link/recovery.py)."""
        seq = self._next_seq()
        frame = encode_frame(command, seq, payload)
        limit = self.timeout if timeout is None else timeout
        budget = self.patience if self.patience is not None else limit * (1 + self.retries)
        self.stats.requests += 1
        start = time.monotonic()
        give_up = start + max(budget, limit)
        attempts = silent = damaged = streak = 0
        while True:
            if attempts:
                self.stats.retries += 1
            attempts += 1
            self._send(frame)
            reply = self._await_reply(command, seq, time.monotonic() + limit, accept)
            if reply is TIMED_OUT:
                self.stats.timeouts += 1
                silent += 1
                streak = 0  # a full wait already paced this resend
            elif reply is None:
                damaged += 1
                streak += 1
                reply = self._back_off(command, seq, streak, give_up, accept)
            if reply is not None and reply is not TIMED_OUT:
                self.last_attempts = attempts
                if reply.status != Status.OK:
                    text = reply.payload.decode("utf-8", errors="replace")
                    raise DeviceError(reply.status, text, command.name)
                return reply.payload
            now = time.monotonic()
            # Timeouts on a link that also delivers damage are noise, not a hang.
            if (silent > self.retries and not damaged) or now >= give_up:
                self.stats.failed_requests += 1
                self.last_attempts = attempts
                raise DeviceHangError(command.name, limit, attempts, now - start, silent, damaged)
            if shrinkable and damaged > SHRINK_AFTER_DAMAGE:
                self.last_attempts = attempts
                raise _TooBig
            if needs_resync(streak):
                self._resync()

    def _back_off(
        self,
        command: Command,
        seq: int,
        streak: int,
        give_up: float,
        accept: Callable[[Frame], bool] | None,
    ) -> Frame | None:
        """Wait before resend `streak`, still listening: the answer may yet come
        (the damaged frame may have been junk, not the response)."""
        now = time.monotonic()
        until = min(give_up, now + backoff_delay(streak))
        if until <= now:
            return None
        reply = self._await_reply(command, seq, until, accept, end_on_damage=False)
        self.stats.backoff_s += time.monotonic() - now
        return None if reply is TIMED_OUT else reply

    def _resync(self) -> None:
        """After a burst: read until the line is quiet, discard what we hold,
        and send delimiters so the device drops any partial frame. The device
        keeps its saved response, so the resend is still answered by replay."""
        self.stats.resyncs += 1
        stop = time.monotonic() + RESYNC_DRAIN_MAX_S
        while time.monotonic() < stop:
            try:
                data = read_some(self.port, RESYNC_QUIET_S)
            except (serial.SerialException, OSError) as exc:
                raise LinkError(f"link read failed: {exc}") from exc
            if not data:
                break
            self.stats.bytes_received += len(data)
        self.port.reset_input_buffer()
        self._pending.clear()
        self._splitter = FrameSplitter()
        self._send(b"\x00" * 4)

    def _await_reply(
        self,
        command: Command,
        seq: int,
        deadline: float,
        accept: Callable[[Frame], bool] | None,
        *,
        end_on_damage: bool = True,
    ) -> Frame | None:
        """The response, TIMED_OUT, or None when it is worth asking again now."""
        want = command | RESPONSE_BIT
        while (frame := self._read_frame(deadline)) is not None:
            if isinstance(frame, BadFrame):
                # Perhaps our response, damaged: ask again rather than wait.
                self.stats.bad_frames += 1
                log.debug("dropped bad frame: %s", frame.reason)
                if end_on_damage:
                    return None
                continue
            if frame.type == Event.FAULT:
                try:
                    report: object = FaultReport.parse(frame.payload)
                except ProtocolError as exc:
                    report = f"unreadable fault report ({exc})"
                raise DeviceFaultError(report, command.name)
            if frame.type == Event.NAK:
                self.stats.naks += 1
                if end_on_damage:
                    return None  # the device saw a damaged frame: resend
                continue
            if frame.type == Event.BOOT:
                if command == Command.HELLO:
                    continue
                self.loaded = None
                raise DeviceResetError(
                    f"the device restarted while waiting for {command.name}; its state is lost"
                )
            if frame.type == want and frame.seq == seq and (accept is None or accept(frame)):
                if self.on_accept:
                    self.on_accept(frame)
                return frame
            self.stats.stale_frames += 1
        return TIMED_OUT

    # -- commands --------------------------------------------------------------

    def hello(self, timeout: float | None = None) -> Hello:
        """Greet the device; only an answer echoing a fresh nonce counts, which
        rules out output left over from an earlier conversation."""
        self.port.reset_input_buffer()
        self._pending.clear()
        nonce = secrets.randbits(32)

        def echoes_nonce(frame: Frame) -> bool:
            return frame.status != Status.OK or frame.payload[:4] == struct.pack("<I", nonce)

        payload = self.request(
            Command.HELLO, struct.pack("<I", nonce), timeout=timeout, accept=echoes_nonce
        )
        try:
            info = Hello.parse(payload)
        except ProtocolError as exc:
            raise LinkError(str(exc)) from exc
        self.hello_info = info
        if self.chunks is not None:
            self.chunks.resize(self.chunk_bytes)
        return info

    @property
    def chunk_bytes(self) -> int:
        if self.hello_info is None:
            raise LinkError("HELLO first: the device's frame size is unknown")
        return self.hello_info.max_payload - 8

    def _chunk(self) -> ChunkSizer:
        if self.chunks is None:
            self.chunks = ChunkSizer(self.chunk_bytes)
        return self.chunks

    def _transfer(self, command: Command, payload: Callable[[int], bytes]) -> bytes:
        """One transfer request whose payload is built for the current chunk
        size; a chunk that keeps being damaged is resent smaller (transfers are
        addressed by offset, so that is harmless)."""
        sizer = self._chunk()
        while True:
            try:
                reply = self.request(command, payload(sizer.size), shrinkable=sizer.can_shrink)
            except _TooBig:
                self._chunk_sent(sizer)
                continue
            self._chunk_sent(sizer)
            return reply

    def _chunk_sent(self, sizer: ChunkSizer) -> None:
        """Adapt the chunk size to how the last transfer request went."""
        shrinks, grows = sizer.shrinks, sizer.grows
        sizer.record(self.last_attempts)
        self.stats.chunk_shrinks += sizer.shrinks - shrinks
        self.stats.chunk_grows += sizer.grows - grows

    def load_model(
        self, model: bytes, progress: Callable[[int, int], None] | None = None
    ) -> LoadedModel:
        crc = zlib.crc32(model)
        self.loaded = None  # MODEL_BEGIN unloads, whatever follows
        self.request(Command.MODEL_BEGIN, struct.pack("<II", len(model), crc))
        offset = 0
        while offset < len(model):
            sent: list[bytes] = []

            def payload(size: int, offset: int = offset, sent: list[bytes] = sent) -> bytes:
                sent.append(model[offset : offset + size])
                return struct.pack("<I", offset) + sent[-1]

            got = self._u32(self._transfer(Command.MODEL_CHUNK, payload))
            chunk = sent[-1]
            if got < offset + len(chunk):
                raise LinkError(
                    f"model upload: device holds {got} bytes, expected {offset + len(chunk)}"
                )
            offset += len(chunk)
            if progress:
                progress(offset, len(model))
        reply = self.request(Command.MODEL_COMMIT, timeout=max(self.timeout, 30.0))
        return self._loaded_from(reply, model, crc, "MODEL_COMMIT")

    def load_linked(self, model: bytes) -> LoadedModel:
        """Load the model linked into the image, which must be MODEL (the
        caller has matched it against HELLO): nothing is uploaded."""
        self.loaded = None
        reply = self.request(Command.MODEL_LINKED, timeout=max(self.timeout, 30.0))
        return self._loaded_from(reply, model, zlib.crc32(model), "MODEL_LINKED", linked=True)

    def _loaded_from(
        self, reply: bytes, model: bytes, crc: int, what: str, linked: bool = False
    ) -> LoadedModel:
        arena_used, n_in, n_out, kind, _, load_ticks = self._unpack("<IBBBBQ", reply, what)
        inputs = tuple(self.tensor_info(False, i) for i in range(n_in))
        outputs = tuple(self.tensor_info(True, i) for i in range(n_out))
        self.loaded = LoadedModel(
            hashlib.sha256(model).hexdigest(),
            crc,
            len(model),
            arena_used,
            inputs,
            outputs,
            load_ticks,
            CounterKind(kind) if kind in {k.value for k in CounterKind} else CounterKind.NONE,
            linked,
        )
        return self.loaded

    def tensor_info(self, is_output: bool, index: int) -> TensorSpec:
        reply = self.request(Command.TENSOR_INFO, struct.pack("<BB", int(is_output), index))
        try:
            return parse_tensor_info(reply)
        except ProtocolError as exc:
            raise LinkError(str(exc)) from exc

    def set_input(self, index: int, data: bytes) -> None:
        offset = 0
        while True:
            sent: list[bytes] = []

            def payload(size: int, offset: int = offset, sent: list[bytes] = sent) -> bytes:
                sent.append(data[offset : offset + size])
                return struct.pack("<BBHI", index, 0, 0, offset) + sent[-1]

            got = self._u32(self._transfer(Command.SET_INPUT, payload))
            chunk = sent[-1]
            if got < offset + len(chunk):
                raise LinkError(
                    f"input {index}: device holds {got} bytes, expected {offset + len(chunk)}"
                )
            offset += len(chunk)
            if offset >= len(data):
                return

    def invoke(
        self,
        timeout: float | None = None,
        *,
        warmup: int = 0,
        repeats: int = 1,
        profile: bool = False,
    ) -> Counters:
        """Run the model: `warmup` untimed runs, then `repeats` timed ones on the
        same inputs, then (with `profile`) one more with per-operator timing."""
        if not 1 <= repeats <= MAX_REPEATS:
            raise ValueError(f"repeats must be 1..{MAX_REPEATS}, got {repeats}")
        if not 0 <= warmup <= 0xFFFF:
            raise ValueError(f"warmup must be 0..65535, got {warmup}")
        payload = struct.pack("<HHB", warmup, repeats, INVOKE_PROFILE if profile else 0)
        runs = warmup + repeats + int(profile)
        limit = None if timeout is None else timeout * runs
        return self._counters(self.request(Command.INVOKE, payload, timeout=limit))

    def read_profile(self) -> list[int]:
        """Ticks per operator, in execution order, of the last profiled run."""
        ticks: list[int] = []
        while True:
            reply = self.request(Command.READ_PROFILE, struct.pack("<H", len(ticks)))
            total, n = self._unpack("<HH", reply, "READ_PROFILE")
            if len(reply) != 4 + 8 * n:
                raise LinkError(f"READ_PROFILE: {len(reply)} bytes for {n} operators")
            ticks += struct.unpack_from(f"<{n}Q", reply, 4)
            if len(ticks) >= total or n == 0:
                return ticks

    def reset(self) -> int:
        """Restore the model's variable tensors; returns how many bytes they hold."""
        return self._u32(self.request(Command.RESET))

    def calibrate(self, iterations: int) -> Calibration:
        try:
            return Calibration.parse(self.request(Command.CALIBRATE, struct.pack("<I", iterations)))
        except ProtocolError as exc:
            raise LinkError(str(exc)) from exc

    def get_output(self, index: int, nbytes: int) -> bytes:
        out = bytearray()
        while len(out) < nbytes:
            asked: list[int] = []

            def payload(size: int, done: int = len(out), asked: list[int] = asked) -> bytes:
                asked.append(min(nbytes - done, size))
                return struct.pack("<BBHI", index, 0, asked[-1], done)

            chunk = self._transfer(Command.GET_OUTPUT, payload)
            want = asked[-1]
            if len(chunk) != want:
                raise LinkError(
                    f"output {index}: asked {want} bytes at {len(out)}, got {len(chunk)}"
                )
            out += chunk
        return bytes(out)

    def sink(self, data: bytes, timeout: float | None = None) -> None:
        """Test builds: stream `data` raw (no framing) into the device, which
        answers once it has swallowed every byte. Measures the bare link."""
        self._require_debug()
        seq = self._next_seq()
        self._send(
            encode_frame(Command.DEBUG, seq, struct.pack("<BBHI", DebugOp.SINK, 0, 0, len(data)))
        )
        self._send(data)
        reply = self._await_reply(
            Command.DEBUG, seq, time.monotonic() + (timeout or self.timeout), None
        )
        if reply is None or reply is TIMED_OUT:
            raise LinkError(f"no answer after sinking {len(data)} bytes")
        if reply.status != Status.OK:
            raise DeviceError(reply.status, reply.payload.decode(errors="replace"), "DEBUG")

    def _require_debug(self) -> None:
        if self.hello_info and not self.hello_info.capabilities & 1:
            raise DeviceError(
                Status.UNKNOWN_COMMAND,
                "debug commands are compiled in only in test builds",
                "DEBUG",
            )

    def debug(self, op: DebugOp, arg: int) -> None:
        self._require_debug()
        self.request(Command.DEBUG, struct.pack("<BBHI", op, 0, 0, arg & 0xFFFFFFFF))

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _unpack(fmt: str, data: bytes, what: str) -> tuple[Any, ...]:
        if len(data) < struct.calcsize(fmt):
            raise LinkError(f"{what}: response of {len(data)} bytes is too short")
        return struct.unpack_from(fmt, data)

    def _u32(self, data: bytes) -> int:
        return int(self._unpack("<I", data, "transfer ack")[0])

    def _counters(self, data: bytes) -> Counters:
        try:
            return Counters.parse(data)
        except ProtocolError as exc:
            raise LinkError(str(exc)) from exc

"""Constants and message layouts of hil's device protocol, version 1.

firmware/include/hil/protocol.h and status.h are the other half; a unit test
checks that the two agree."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from hil.measurements.counters import CounterKind
from hil.model.dtypes import DTYPES
from hil.model.tensor import TensorSpec

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBHBBH")  # version, type, seq, status, flags, payload_len
HEADER_BYTES = HEADER.size
CRC_BYTES = 4
RESPONSE_BIT = 0x80


class Command(IntEnum):
    HELLO = 0x01
    MODEL_BEGIN = 0x02
    MODEL_CHUNK = 0x03
    MODEL_COMMIT = 0x04
    TENSOR_INFO = 0x05
    SET_INPUT = 0x06
    INVOKE = 0x07
    GET_OUTPUT = 0x08
    READ_COUNTERS = 0x09
    READ_PROFILE = 0x0A
    CALIBRATE = 0x0B
    RESET = 0x0C
    MODEL_LINKED = 0x0D
    DEBUG = 0x70


class Event(IntEnum):
    NAK = 0x7D
    BOOT = 0x7E
    FAULT = 0x7F


class DebugOp(IntEnum):
    CORRUPT_OUTPUT = 1
    FAULT = 2
    HANG = 3
    SINK = 4


class FaultKind(IntEnum):
    HARD = 1
    MEMMANAGE = 2
    BUS = 3
    USAGE = 4
    SECURE = 5


FAULT_NAMES = {
    FaultKind.HARD: "HardFault",
    FaultKind.MEMMANAGE: "MemManage fault",
    FaultKind.BUS: "BusFault",
    FaultKind.USAGE: "UsageFault",
    FaultKind.SECURE: "SecureFault",
}

# Configurable Fault Status Register bits (ARMv7-M / ARMv8-M).
CFSR_BITS = {
    0: "IACCVIOL",
    1: "DACCVIOL",
    3: "MUNSTKERR",
    4: "MSTKERR",
    5: "MLSPERR",
    7: "MMARVALID",
    8: "IBUSERR",
    9: "PRECISERR",
    10: "IMPRECISERR",
    11: "UNSTKERR",
    12: "STKERR",
    13: "LSPERR",
    15: "BFARVALID",
    16: "UNDEFINSTR",
    17: "INVSTATE",
    18: "INVPC",
    19: "NOCP",
    20: "STKOF",
    24: "UNALIGNED",
    25: "DIVBYZERO",
}
HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}


def _flags(value: int, names: dict[int, str]) -> str:
    return "|".join(name for bit, name in sorted(names.items()) if value >> bit & 1) or "-"


CAP_DEBUG_COMMANDS = 0x1


class ProtocolError(ValueError):
    """A response's payload does not have the layout its type promises."""


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ProtocolError(
                f"{self.what}: payload of {len(self.data)} bytes ends at {self.pos}, "
                f"needs {size} more"
            )
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def string(self) -> str:
        (n,) = self.take("<B")
        (raw,) = self.take(f"<{n}s")
        return bytes(raw).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Hello:
    nonce: int
    protocol_version: int
    counter_kind: CounterKind
    max_payload: int
    model_capacity: int
    arena_bytes: int
    clock_hz: int
    capabilities: int
    build_id: str
    engine: str
    engine_version: str
    board: str
    core: str
    #: The model linked into the image: its size (0: none), the crc32 the
    #: device computed over it, and its SHA-256 as hil built it ("" if unknown).
    linked_bytes: int = 0
    linked_crc: int = 0
    linked_sha256: str = ""

    @classmethod
    def parse(cls, data: bytes) -> Hello:
        r = _Reader(data, "HELLO response")
        nonce, version, kind, max_payload, model_cap, arena, clock, caps = r.take("<IBBHIIII")
        try:
            counter = CounterKind(kind)
        except ValueError as exc:
            raise ProtocolError(f"HELLO response: unknown counter kind {kind}") from exc
        build_id, engine, engine_version, board, core = (r.string() for _ in range(5))
        size, crc, sha256 = 0, 0, ""
        if r.pos < len(data):  # firmware older than linked models stops here
            size, crc = r.take("<II")
            sha256 = r.string()
        return cls(
            nonce,
            version,
            counter,
            max_payload,
            model_cap,
            arena,
            clock,
            caps,
            build_id,
            engine,
            engine_version,
            board,
            core,
            size,
            crc,
            sha256,
        )


def parse_tensor_info(data: bytes) -> TensorSpec:
    """A TENSOR_INFO response: one graph input or output as the device sees it."""
    r = _Reader(data, "TENSOR_INFO response")
    code, rank, _ = r.take("<BBH")
    if code not in DTYPES:
        raise ProtocolError(f"TENSOR_INFO response: unknown dtype code {code}")
    if rank > 6:
        raise ProtocolError(f"TENSOR_INFO response: rank {rank} exceeds 6")
    shape = r.take(f"<{rank}i")
    nbytes, scale, zero_point = r.take("<Ifi")
    return TensorSpec(DTYPES[code], tuple(shape), scale, zero_point, nbytes=nbytes)


@dataclass(frozen=True)
class FaultReport:
    """What the device's fault handler sent before halting."""

    kind: FaultKind
    pc: int
    lr: int
    xpsr: int
    cfsr: int
    hfsr: int
    mmfar: int
    bfar: int

    @classmethod
    def parse(cls, data: bytes) -> FaultReport:
        r = _Reader(data, "FAULT event")
        kind, *regs = r.take("<8I")
        try:
            return cls(FaultKind(kind), *regs)
        except ValueError as exc:
            raise ProtocolError(f"FAULT event: unknown fault kind {kind}") from exc

    def describe(self) -> str:
        text = (
            f"{FAULT_NAMES[self.kind]} at pc=0x{self.pc:08x} lr=0x{self.lr:08x} "
            f"xpsr=0x{self.xpsr:08x}; CFSR=0x{self.cfsr:08x} ({_flags(self.cfsr, CFSR_BITS)}) "
            f"HFSR=0x{self.hfsr:08x} ({_flags(self.hfsr, HFSR_BITS)})"
        )
        if self.cfsr >> 7 & 1:
            text += f" MMFAR=0x{self.mmfar:08x}"
        if self.cfsr >> 15 & 1:
            text += f" BFAR=0x{self.bfar:08x}"
        return text

    def to_dict(self) -> dict[str, object]:
        regs = ("pc", "lr", "xpsr", "cfsr", "hfsr", "mmfar", "bfar")
        return {"kind": FAULT_NAMES[self.kind], **{r: f"0x{getattr(self, r):08x}" for r in regs}}


INVOKE_PROFILE = 0x1
MAX_REPEATS = 254


def _counter_kind(value: int, what: str) -> CounterKind:
    try:
        return CounterKind(value)
    except ValueError as exc:
        raise ProtocolError(f"{what}: unknown counter kind {value}") from exc


@dataclass(frozen=True)
class Counters:
    """One INVOKE's measurements: ticks of each timed repeat, the stack's
    high-water mark, and the total of the profiled run if there was one."""

    kind: CounterKind
    repeats: tuple[int, ...]
    stack_bytes: int
    profile_total: int | None

    @classmethod
    def parse(cls, data: bytes) -> Counters:
        r = _Reader(data, "counters")
        kind, flags, n, stack, profile_total = r.take("<BBHIQ")
        repeats = r.take(f"<{n}Q")
        return cls(
            _counter_kind(kind, "counters"),
            tuple(repeats),
            stack,
            profile_total if flags & INVOKE_PROFILE else None,
        )


@dataclass(frozen=True)
class Calibration:
    kind: CounterKind
    ticks: int

    @classmethod
    def parse(cls, data: bytes) -> Calibration:
        kind, _, _, _, ticks = _Reader(data, "CALIBRATE response").take("<BBBBQ")
        return cls(_counter_kind(kind, "CALIBRATE response"), ticks)

"""Constants and message layouts of hil's device protocol, version 1.

firmware/include/hil/protocol.h and status.h are the other half; a unit test
checks that the two agree."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

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
    DEBUG = 0x70


class Event(IntEnum):
    NAK = 0x7D
    BOOT = 0x7E
    FAULT = 0x7F


class Status(IntEnum):
    OK = 0
    BAD_FRAME = 1
    UNKNOWN_COMMAND = 2
    BAD_REQUEST = 3
    STATE = 4
    MODEL_INVALID = 5
    UNSUPPORTED = 6
    ARENA_TOO_SMALL = 7
    MODEL_TOO_LARGE = 8
    TENSOR = 9
    INVOKE = 10
    CHECKSUM = 11
    INTERNAL = 12


class CounterKind(IntEnum):
    NONE = 0
    CYCLES = 1
    SYSTICK = 2


class DebugOp(IntEnum):
    CORRUPT_OUTPUT = 1


CAP_DEBUG_COMMANDS = 0x1

# TFLite TensorType codes, as the device reports them.
DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
}


class ProtocolError(ValueError):
    """A response's payload does not have the layout its type promises."""


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, fmt: str) -> tuple:
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
        return raw.decode("utf-8", errors="replace")


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

    @classmethod
    def parse(cls, data: bytes) -> Hello:
        r = _Reader(data, "HELLO response")
        nonce, version, kind, max_payload, model_cap, arena, clock, caps = r.take("<IBBHIIII")
        try:
            counter = CounterKind(kind)
        except ValueError as exc:
            raise ProtocolError(f"HELLO response: unknown counter kind {kind}") from exc
        strings = [r.string() for _ in range(5)]
        return cls(nonce, version, counter, max_payload, model_cap, arena, clock, caps, *strings)


@dataclass(frozen=True)
class TensorSpec:
    dtype: np.dtype
    shape: tuple[int, ...]
    nbytes: int
    scale: float
    zero_point: int

    @classmethod
    def parse(cls, data: bytes) -> TensorSpec:
        r = _Reader(data, "TENSOR_INFO response")
        code, rank, _ = r.take("<BBH")
        if code not in DTYPES:
            raise ProtocolError(f"TENSOR_INFO response: unknown dtype code {code}")
        if rank > 6:
            raise ProtocolError(f"TENSOR_INFO response: rank {rank} exceeds 6")
        shape = r.take(f"<{rank}i")
        nbytes, scale, zero_point = r.take("<Ifi")
        return cls(DTYPES[code], tuple(shape), nbytes, scale, zero_point)


@dataclass(frozen=True)
class Counters:
    kind: CounterKind
    ticks: int

    @classmethod
    def parse(cls, data: bytes) -> Counters:
        r = _Reader(data, "counters")
        kind, _, _, _, lo, hi = r.take("<BBBBII")
        try:
            return cls(CounterKind(kind), lo | (hi << 32))
        except ValueError as exc:
            raise ProtocolError(f"counters: unknown counter kind {kind}") from exc

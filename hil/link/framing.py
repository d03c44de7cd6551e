"""Frames on the byte stream: COBS-delimited, versioned header, CRC-32."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from cobs import cobs

from hil.link.protocol import CRC_BYTES, HEADER, HEADER_BYTES, PROTOCOL_VERSION


@dataclass(frozen=True)
class Frame:
    version: int
    type: int
    seq: int
    status: int
    payload: bytes


@dataclass(frozen=True)
class BadFrame:
    """Bytes between two delimiters that are not a valid frame, and why."""

    reason: str
    raw: bytes


def encode_frame(
    type_: int, seq: int, payload: bytes = b"", status: int = 0, version: int = PROTOCOL_VERSION
) -> bytes:
    body = HEADER.pack(version, type_, seq & 0xFFFF, status, 0, len(payload)) + payload
    crc = zlib.crc32(body).to_bytes(CRC_BYTES, "little")
    # The leading delimiter ends any garbage the receiver holds.
    encoded: bytes = cobs.encode(body + crc)  # cobs is untyped
    return b"\x00" + encoded + b"\x00"


def decode_frame(encoded: bytes) -> Frame | BadFrame:
    """Decode one delimiter-free chunk of the stream."""
    try:
        raw = cobs.decode(encoded)
    except cobs.DecodeError as exc:
        return BadFrame(f"bad COBS ({exc})", encoded)
    if len(raw) < HEADER_BYTES + CRC_BYTES:
        return BadFrame(f"short frame ({len(raw)} bytes)", encoded)
    body, crc = raw[:-CRC_BYTES], raw[-CRC_BYTES:]
    if zlib.crc32(body) != int.from_bytes(crc, "little"):
        return BadFrame("bad CRC", encoded)
    version, type_, seq, status, _flags, length = HEADER.unpack_from(body)
    payload = body[HEADER_BYTES:]
    if length != len(payload):
        return BadFrame(f"length field {length} but {len(payload)} payload bytes", encoded)
    return Frame(version, type_, seq, status, payload)


class FrameSplitter:
    """Cuts a byte stream into frames at 0x00 delimiters."""

    def __init__(self, max_encoded: int = 1 << 16) -> None:
        self._buf = bytearray()
        self._max = max_encoded
        self._overflow = False

    def feed(self, data: bytes) -> Iterator[Frame | BadFrame]:
        start = 0
        while True:
            end = data.find(b"\x00", start)
            if end < 0:
                self._append(data[start:])
                return
            self._append(data[start:end])
            if self._overflow:
                yield BadFrame("frame longer than the limit", bytes(self._buf[:64]))
            elif self._buf:
                yield decode_frame(bytes(self._buf))
            self._buf.clear()
            self._overflow = False
            start = end + 1

    def _append(self, data: bytes) -> None:
        if len(self._buf) + len(data) > self._max:
            self._overflow = True
            return
        self._buf += data

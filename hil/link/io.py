"""Reading from a pyserial port in chunks, whatever the port type."""

from __future__ import annotations

import serial

CHUNK = 1 << 16


def read_some(port: serial.SerialBase, timeout: float) -> bytes:
    """Wait up to `timeout` for the first byte, then take whatever else is
    already there without waiting. (`in_waiting` is no help: for socket://
    ports pyserial reports 0 or 1, not a count.)"""
    port.timeout = timeout
    first = port.read(1)
    if not first:
        return b""
    port.timeout = 0
    rest: bytes = port.read(CHUNK)
    return bytes(first) + rest

"""TargetMemory on pyOCD's API: the mailbox's RAM read and written through a
debug probe's memory access port, for the memory transport on real boards."""

from __future__ import annotations

import contextlib
import struct
from typing import Any

from pyocd.core.exceptions import Error as PyocdError

from hil.errors import LinkError


class PyocdMemory:
    """Reads and writes target RAM through an open pyOCD session, which it
    closes with itself.

    halt() and resume() do nothing: on a Cortex-M the debug access port
    reads and writes the bus beside the running core (what SEGGER's RTT
    tools do), and the mailbox rings are single-producer/single-consumer:
    each side writes only its own offset, after the bytes it covers, so no
    stop of the core is needed for a consistent view. Halting for each look
    would instead stop the inference being measured."""

    def __init__(self, session: Any, probe: str) -> None:
        self._session = session
        self._probe = probe

    def _failed(self, what: str, addr: int, length: int, exc: BaseException) -> LinkError:
        return LinkError(
            f"probe {self._probe}: {what} of {length} bytes at 0x{addr:08x} failed: "
            f"{exc or type(exc).__name__}"
        )

    def halt(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def read(self, addr: int, length: int) -> bytes:
        try:
            return bytes(self._session.target.read_memory_block8(addr, length))
        except (PyocdError, OSError) as exc:
            raise self._failed("read", addr, length, exc) from exc

    def write(self, addr: int, data: bytes) -> None:
        """Aligned whole words as word accesses: the doorbell is an NVIC
        register, which takes 32-bit accesses only; RAM takes either."""
        try:
            if addr % 4 == 0 and len(data) % 4 == 0:
                words = list(struct.unpack(f"<{len(data) // 4}I", data))
                self._session.target.write_memory_block32(addr, words)
            else:
                self._session.target.write_memory_block8(addr, list(data))
        except (PyocdError, OSError) as exc:
            raise self._failed("write", addr, len(data), exc) from exc

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            # A probe gone already leaves nothing to release.
            with contextlib.suppress(PyocdError, OSError):
                session.close()

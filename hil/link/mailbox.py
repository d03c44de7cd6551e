"""The memory transport's byte pipe: the agent's RTT-style mailbox in target
RAM, read and written through a debug port. It looks like a pyserial port to
the session, so frames, CRC and sequence numbers are the same as on serial."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import serial
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from hil.errors import LinkError

CONTROL_SYMBOL = "hil_mailbox"
DOORBELL_SYMBOL = "hil_mailbox_doorbell"
RTT_ID = b"SEGGER RTT"
# id[16], up count, down count, then one up and one down ring of 6 words.
BLOCK = struct.Struct("<16sii6I6I")
RING_WORDS = 6
WR, RD = 3, 4  # word index of the offsets inside a ring descriptor
POLL_MIN, POLL_MAX = 0.0002, 0.005
# With a bell (the agent's 0x00 on the UART when it has written a frame), the
# pipe waits on it instead of halting the core to poll; after a wait this long
# without one (BELL_TRUSTED once the agent has rung) it looks anyway, then
# waits twice as long, up to the maximum: a lost bell costs time, never an answer.
BELL_POLL, BELL_TRUSTED, BELL_POLL_MAX = 0.02, 0.5, 1.0
BOOT_TIMEOUT = 10.0


class TargetMemory(Protocol):
    """What the pipe needs from a debug port (gdbstub, pyOCD)."""

    def halt(self) -> None: ...
    def resume(self) -> None: ...
    def read(self, addr: int, length: int) -> bytes: ...
    def write(self, addr: int, data: bytes) -> None: ...
    def close(self) -> None: ...


def mailbox_symbols(elf: Path) -> tuple[int, int]:
    """Addresses of the control block and the doorbell descriptor."""
    with open(elf, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        if not isinstance(table, SymbolTableSection):
            raise LinkError(f"{elf} has no symbol table: cannot find the mailbox")
        found = []
        for name in (CONTROL_SYMBOL, DOORBELL_SYMBOL):
            syms = table.get_symbol_by_name(name)
            if not syms:
                raise LinkError(f"{elf} has no {name} symbol: firmware without a mailbox")
            found.append(int(syms[0]["st_value"]))
    return found[0], found[1]


class MailboxPort(serial.SerialBase):  # type: ignore[misc]  # pyserial is untyped
    """A pyserial-like port over the mailbox rings."""

    def __init__(
        self,
        memory: TargetMemory,
        control: int,
        doorbell: int,
        ring_bell: Callable[[], None] | None = None,
        wait_bell: Callable[[float], bool] | None = None,
    ) -> None:
        """ring_bell wakes the core after a write where the debug port cannot
        write the NVIC (QEMU's gdbstub writes RAM only); else the pipe writes
        the doorbell word the firmware names. wait_bell(seconds) returns True
        when the device says the up ring has bytes, False when the time is up;
        without it the pipe polls, halting the core each time."""
        self._memory = memory
        self._ring_bell = ring_bell
        self._wait_bell = wait_bell
        self._rx = bytearray()  # taken from the up ring, not read yet
        self._bell_heard = False
        self._gap = BELL_POLL
        self._next_look = time.monotonic() + self._gap  # when to look without a bell
        self._control = control
        self._up_ring = control + 24
        self._down_ring = control + 24 + 4 * RING_WORDS
        super().__init__(port=None, timeout=0.05)
        # The firmware builds the block at boot: wait for its id to appear.
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            memory.halt()
            try:
                fields = BLOCK.unpack(memory.read(control, BLOCK.size))
                bell = memory.read(doorbell, 8)
            finally:
                memory.resume()
            if fields[0].rstrip(b"\x00") == RTT_ID and fields[1] >= 1 and fields[2] >= 1:
                break
            if time.monotonic() > deadline:
                raise LinkError(f"no mailbox at 0x{control:08x} (id {fields[0]!r})")
            time.sleep(0.01)
        self._up = fields[3:9]
        self._down = fields[9:15]
        self._bell_addr, self._bell_value = struct.unpack("<II", bell)
        self.is_open = True

    def open(self) -> None:  # opened by the constructor
        pass

    def _reconfigure_port(self, force_update: bool = False) -> None:
        pass

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._memory.close()

    @property
    def in_waiting(self) -> int:
        return len(self._rx)

    def reset_input_buffer(self) -> None:
        self._rx.clear()
        self._take()

    def flush(self) -> None:
        pass

    def _offsets(self, ring: int) -> tuple[int, int]:
        wr, rd = struct.unpack("<II", self._memory.read(ring + 4 * WR, 8))
        return wr, rd

    def _take(self) -> bytes:
        """Everything the up ring holds, in one halt."""
        _, buf, size, _, _, _ = self._up
        self._memory.halt()
        try:
            wr, rd = self._offsets(self._up_ring)
            if wr >= size or rd >= size:
                raise LinkError(f"mailbox up ring offsets out of range (wr {wr}, rd {rd})")
            if wr == rd:
                return b""
            if wr > rd:
                data = self._memory.read(buf + rd, wr - rd)
            else:  # wrapped: the end of the ring, then its start
                data = self._memory.read(buf + rd, size - rd) + self._memory.read(buf, wr)
            self._memory.write(self._up_ring + 4 * RD, struct.pack("<I", wr))
            return data
        finally:
            self._memory.resume()

    def read(self, size: int = 1) -> bytes:
        """Up to SIZE bytes, waiting at most `timeout` for them. With a bell,
        the ring is looked at after a bell, or when a look is due without
        one: each look halts the core. Every look takes all the ring holds,
        and the agent rings after writing, so bytes in the ring always have a
        bell still to come."""
        deadline = time.monotonic() + (self.timeout or 0)
        pause = POLL_MIN
        while len(self._rx) < size:
            now = time.monotonic()
            if self._wait_bell is None:
                self._rx += self._take()
                if len(self._rx) >= size or now >= deadline:
                    break
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, POLL_MAX)
                continue
            rang = self._wait_bell(max(0.0, min(deadline, self._next_look) - now))
            now = time.monotonic()
            if rang:
                self._bell_heard = True
                self._rx += self._take()
                self._gap = self._first_gap()
                self._next_look = now + self._gap
            elif now >= self._next_look:  # no bell: look anyway, less and less often
                self._rx += self._take()
                self._gap = min(self._gap * 2, BELL_POLL_MAX)
                self._next_look = now + self._gap
            elif now >= deadline:
                break
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    def _first_gap(self) -> float:
        """How long to wait for a bell before looking anyway: short until
        the agent has rung once (an agent older than the bell never does),
        then long, so a long inference is not slowed by looks."""
        return BELL_TRUSTED if self._bell_heard else BELL_POLL

    def write(self, data: bytes) -> int:
        # A request: its answer cannot be in the ring before the agent reads it.
        self._gap = self._first_gap()
        self._next_look = time.monotonic() + self._gap
        _, buf, size, _, _, _ = self._down
        view = memoryview(bytes(data))
        deadline = time.monotonic() + max(self.timeout or 0, 5.0)
        pause = POLL_MIN
        while view:
            self._memory.halt()
            try:
                wr, rd = self._offsets(self._down_ring)
                if wr >= size or rd >= size:
                    raise LinkError(f"mailbox down ring offsets out of range (wr {wr}, rd {rd})")
                free = (rd - wr - 1) % size
                n = min(free, len(view), size - wr)
                if n:
                    self._memory.write(buf + wr, bytes(view[:n]))
                    self._memory.write(self._down_ring + 4 * WR, struct.pack("<I", (wr + n) % size))
                    if self._bell_addr and self._ring_bell is None:
                        self._memory.write(self._bell_addr, struct.pack("<I", self._bell_value))
                    view = view[n:]
            finally:
                self._memory.resume()
            if n and self._ring_bell is not None:
                self._ring_bell()
            if view and not n:
                if time.monotonic() > deadline:
                    raise LinkError("device stopped taking bytes from the mailbox")
                time.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
        return len(data)

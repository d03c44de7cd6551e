"""The mailbox pipe against a fake target memory (the RTT-layout control
block in a bytearray): the host waits on the device's bell instead of
halting the core to poll, still looks when a bell is lost, and refuses ring
offsets outside the ring. And the phase clock benchmarks/suite.py reads."""

from __future__ import annotations

import struct
import time

import pytest

from hil.errors import LinkError
from hil.link.mailbox import BLOCK, RD, RTT_ID, WR, MailboxPort
from hil.measurements.phases import PhaseClock

CONTROL, DOORBELL, UP_BUF, DOWN_BUF = 0x100, 0x200, 0x400, 0x800
UP_SIZE, DOWN_SIZE = 64, 128
UP_RING = CONTROL + 24


class FakeMemory:
    """Target RAM as a bytearray; counts halts (each one stops the core)."""

    def __init__(self) -> None:
        self.ram = bytearray(0x1000)
        up = (0, UP_BUF, UP_SIZE, 0, 0, 0)
        down = (0, DOWN_BUF, DOWN_SIZE, 0, 0, 0)
        self.ram[CONTROL : CONTROL + BLOCK.size] = BLOCK.pack(RTT_ID, 1, 1, *up, *down)
        self.halts = 0

    def halt(self) -> None:
        self.halts += 1

    def resume(self) -> None:
        pass

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self.ram[addr : addr + length])

    def write(self, addr: int, data: bytes) -> None:
        self.ram[addr : addr + len(data)] = data

    def close(self) -> None:
        pass

    def device_sends(self, data: bytes) -> None:
        """What the agent does: bytes into the up ring, then its write offset."""
        wr = struct.unpack_from("<I", self.ram, UP_RING + 4 * WR)[0]
        for byte in data:
            self.ram[UP_BUF + wr] = byte
            wr = (wr + 1) % UP_SIZE
        struct.pack_into("<I", self.ram, UP_RING + 4 * WR, wr)


def test_the_host_waits_on_the_bell_not_by_halting() -> None:
    memory = FakeMemory()
    waits: list[float] = []

    def wait_bell(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) > 1:
            return False
        memory.device_sends(b"\x00frame\x00")  # the answer comes, and its bell
        return True

    port = MailboxPort(memory, CONTROL, DOORBELL, ring_bell=lambda: None, wait_bell=wait_bell)
    port.timeout = 5.0
    halts = memory.halts
    assert port.read(1) == b"\x00"
    port.timeout = 0  # the rest of what is there, as hil.link.io.read_some asks for it
    assert port.read(100) == b"frame\x00"  # what the one look took, without halting again
    assert len(waits) == 2 and 0 < waits[0] <= 0.02 and waits[1] == 0.0
    assert memory.halts - halts == 1  # no look before the bell: each one halts the core


def test_a_lost_bell_costs_a_look_not_the_answer() -> None:
    memory = FakeMemory()
    waits: list[float] = []

    def wait_bell(seconds: float) -> bool:  # the bell never rings
        waits.append(seconds)
        time.sleep(seconds)
        if len(waits) == 3:
            memory.device_sends(b"late")
        return False

    port = MailboxPort(memory, CONTROL, DOORBELL, ring_bell=lambda: None, wait_bell=wait_bell)
    port.timeout = 5.0
    assert port.read(4) == b"late" and len(waits) == 3
    assert waits[0] < waits[1] < waits[2]  # it looks less and less often


def test_a_wrapped_up_ring_is_taken_in_one_look() -> None:
    memory = FakeMemory()
    port = MailboxPort(memory, CONTROL, DOORBELL, ring_bell=lambda: None, wait_bell=lambda s: True)
    port.timeout = 1.0
    memory.device_sends(bytes(UP_SIZE - 10))
    assert port.read(UP_SIZE - 10) == bytes(UP_SIZE - 10)
    memory.device_sends(bytes(range(20)))  # 10 bytes at the end of the ring, 10 at its start
    halts = memory.halts
    assert port.read(20) == bytes(range(20)) and memory.halts - halts == 1


def test_up_ring_offsets_outside_the_ring_are_refused() -> None:
    memory = FakeMemory()
    port = MailboxPort(memory, CONTROL, DOORBELL, ring_bell=lambda: None, wait_bell=lambda s: True)
    struct.pack_into("<I", memory.ram, UP_RING + 4 * RD, UP_SIZE + 5)
    with pytest.raises(LinkError, match=r"up ring offsets out of range \(wr 0, rd 69\)"):
        port.read(1)


def test_the_phase_clock_sums_each_phase_and_starts_again() -> None:
    clock = PhaseClock()
    for _ in range(3):
        with clock.phase("inputs"):
            pass
    with pytest.raises(ValueError), clock.phase("inference"):
        raise ValueError("a failed phase still counts its time")
    seconds = clock.take()
    assert set(seconds) == {"inputs", "inference"} and all(s >= 0 for s in seconds.values())
    assert clock.take() == {}

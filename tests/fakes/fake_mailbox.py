"""A FAKE agent's side of the mailbox (firmware/agent/mailbox.c) in a fake
board's RAM: at reset it lays out the RTT-style control block and the
doorbell descriptor at the image's symbols; when the host writes the
doorbell word (an NVIC set-pending register on the STM32 ports) it echoes
what the down ring holds into the up ring. Not the agent: it answers no
protocol, it only moves bytes as the agent's rings do."""

from __future__ import annotations

import struct
from typing import Any

from hil.link.mailbox import BLOCK, CONTROL_SYMBOL, DOORBELL_SYMBOL, RD, RTT_ID, WR

# LPUART1 is interrupt 70 on the STM32L4R5: its set-pending bit, as the port names it.
BELL_ADDR, BELL_VALUE = 0xE000E200 + 4 * (70 // 32), 1 << (70 % 32)
UP_SIZE, DOWN_SIZE = 64, 128  # small, so a long message wraps both rings


class FakeAgent:
    def __init__(self, ram: dict[int, int], control: int, doorbell: int) -> None:
        self.ram = ram
        self.control = control
        self.up_ring, self.down_ring = control + 24, control + 48
        self.up_buf, self.down_buf = control + 0x100, control + 0x200
        self.bells = 0
        up = (0, self.up_buf, UP_SIZE, 0, 0, 0)
        down = (0, self.down_buf, DOWN_SIZE, 0, 0, 0)
        self._put(control, BLOCK.pack(RTT_ID, 1, 1, *up, *down))
        self._put(doorbell, struct.pack("<II", BELL_ADDR, BELL_VALUE))

    @classmethod
    def boot(cls, symbols: dict[str, int], target: Any) -> FakeAgent | None:
        """The agent at reset: a mailbox if the image has one."""
        if CONTROL_SYMBOL not in symbols or DOORBELL_SYMBOL not in symbols:
            return None
        return cls(target.rack.ram, symbols[CONTROL_SYMBOL], symbols[DOORBELL_SYMBOL])

    def _put(self, addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.ram[addr + i] = byte

    def _word(self, addr: int) -> int:
        return int.from_bytes(bytes(self.ram.get(addr + i, 0) for i in range(4)), "little")

    def on_write(self, addr: int, words: list[int]) -> None:
        if addr == BELL_ADDR and words and words[0] & BELL_VALUE:
            self.bells += 1
            self.echo()

    def echo(self) -> None:
        """Down ring to up ring, as far as the up ring has room."""
        dwr, drd = self._word(self.down_ring + 4 * WR), self._word(self.down_ring + 4 * RD)
        uwr, urd = self._word(self.up_ring + 4 * WR), self._word(self.up_ring + 4 * RD)
        while drd != dwr and (uwr + 1) % UP_SIZE != urd:
            self.ram[self.up_buf + uwr] = self.ram.get(self.down_buf + drd, 0)
            uwr, drd = (uwr + 1) % UP_SIZE, (drd + 1) % DOWN_SIZE
        self._put(self.up_ring + 4 * WR, struct.pack("<I", uwr))
        self._put(self.down_ring + 4 * RD, struct.pack("<I", drd))

"""A FAKE agent's side of the mailbox (firmware/agent/mailbox.c) in a fake
board's RAM: at reset it lays out the RTT-style control block and the
doorbell descriptor at the image's symbols; when the host writes the
doorbell word (an NVIC set-pending register on the STM32 ports) it takes
what the down ring holds and answers each HELLO frame in it with a HELLO
response (the nonce echoed, FAKE board facts) in the up ring. Not the agent:
HELLO is the only request it knows; other bytes are dropped."""

from __future__ import annotations

import struct
from typing import Any

from hil.link.framing import Frame, FrameSplitter, encode_frame
from hil.link.mailbox import BLOCK, CONTROL_SYMBOL, DOORBELL_SYMBOL, RD, RTT_ID, WR
from hil.link.protocol import PROTOCOL_VERSION, RESPONSE_BIT, Command, CounterKind

# LPUART1 is interrupt 70 on the STM32L4R5: its set-pending bit, as the port names it.
BELL_ADDR, BELL_VALUE = 0xE000E200 + 4 * (70 // 32), 1 << (70 % 32)
UP_SIZE, DOWN_SIZE = 128, 128  # small, so a few messages wrap both rings
FACTS = ("FAKE0001", "hil", "0.0", "nucleo-l4r5zi", "cortex-m4")  # build id, engine, ..., core


def hello_payload(nonce: int) -> bytes:
    """What a HELLO response carries (hil.link.protocol.Hello.parse)."""
    head = struct.pack(
        "<IBBHIIII", nonce, PROTOCOL_VERSION, CounterKind.CYCLES, 64, 0, 0, 120_000_000, 0
    )
    return head + b"".join(bytes([len(s)]) + s.encode() for s in FACTS)


class FakeAgent:
    def __init__(self, ram: dict[int, int], control: int, doorbell: int) -> None:
        self.ram = ram
        self.control = control
        self.up_ring, self.down_ring = control + 24, control + 48
        self.up_buf, self.down_buf = control + 0x100, control + 0x200
        self.bells = 0
        self.requests: list[int] = []  # command types of the frames taken, in order
        self._splitter = FrameSplitter()
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
            self.serve()

    def serve(self) -> None:
        """Take the down ring; answer every HELLO in it through the up ring."""
        wr, rd = self._word(self.down_ring + 4 * WR), self._word(self.down_ring + 4 * RD)
        taken = bytearray()
        while rd != wr:
            taken.append(self.ram.get(self.down_buf + rd, 0))
            rd = (rd + 1) % DOWN_SIZE
        self._put(self.down_ring + 4 * RD, struct.pack("<I", rd))
        for frame in self._splitter.feed(bytes(taken)):
            if not isinstance(frame, Frame):
                continue
            self.requests.append(frame.type)
            if frame.type == Command.HELLO:
                (nonce,) = struct.unpack_from("<I", frame.payload)
                self.send(
                    encode_frame(Command.HELLO | RESPONSE_BIT, frame.seq, hello_payload(nonce))
                )

    def send(self, data: bytes) -> None:
        """Into the up ring, then its write offset; the ring must have room."""
        wr, rd = self._word(self.up_ring + 4 * WR), self._word(self.up_ring + 4 * RD)
        assert (rd - wr - 1) % UP_SIZE >= len(data), "the FAKE agent's up ring is full"
        for byte in data:
            self.ram[self.up_buf + wr] = byte
            wr = (wr + 1) % UP_SIZE
        self._put(self.up_ring + 4 * WR, struct.pack("<I", wr))

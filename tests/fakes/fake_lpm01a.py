"""A FAKE ST X-NUCLEO-LPM01A (PowerShield firmware) on a pseudo-terminal: it
acknowledges ASCII commands as `PowerShield > ack <command>`, streams a
synthetic trace in ascii_dec (`6409-07` = 640.9 µA) after `start`, with an
`event <n> ris|fal` line at each edge of D7 (the marker), and ends with
"Acquisition completed" after `stop`. Not a PowerShield: the reply wording
beyond what hil's driver relies on is the fake's own."""

from __future__ import annotations

import math
import threading

from tests.energy_synth import Synthetic
from tests.fakes.pty_instrument import PtyInstrument

PROMPT = "PowerShield > "
BOARD_ID = "FAKE-LPM01A-0042"


def ascii_dec(amps: float) -> str:
    """Four significant digits and a power of ten: 4200-06 is 4.2 mA."""
    exponent = math.floor(math.log10(amps)) - 3
    mantissa = round(amps / 10.0**exponent)
    if mantissa > 9999:
        mantissa, exponent = round(mantissa / 10), exponent + 1
    return f"{mantissa:04d}{exponent:+03d}"


class FakeLpm01a(PtyInstrument):
    def __init__(self, synth: Synthetic, *, refuse: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.synth = synth
        self.refuse = refuse  # commands answered with an error
        self.commands: list[str] = []
        self.streamed = threading.Event()
        self._pending = b""
        self.start()

    def _send(self, text: str) -> None:
        self.write(text.encode("ascii"))

    def received(self, data: bytes) -> None:
        self._pending += data
        while b"\n" in self._pending:
            raw, _, self._pending = self._pending.partition(b"\n")
            line = raw.decode("ascii").strip()
            self.commands.append(line)
            self._answer(line)

    def _answer(self, line: str) -> None:
        if line in self.refuse:
            self._send(f"{PROMPT}error {line}\r\nError detail: refused by the fake\r\n")
        elif line == "stop":
            self.streamed.wait(5)
            self._send(f"{PROMPT}Acquisition completed\r\n")
        elif line == "powershield":
            self._send(f"{PROMPT}ack powershield {BOARD_ID}\r\n")
        elif line == "version":
            self._send(f"{PROMPT}ack version 1.0.4-fake\r\n")
        else:
            self._send(f"{PROMPT}ack {line}\r\n")
            if line == "start":
                self._stream()

    def _stream(self) -> None:
        _, current, _, bits = self.synth.samples()
        marker = (bits >> self.synth.marker_bit) & 1
        lines = []
        level, events = 0, 0
        for amps, high in zip(current, marker, strict=True):
            if high != level:
                level, events = int(high), events + 1
                lines.append(f"event {events} {'ris' if high else 'fal'}")
            lines.append(ascii_dec(float(amps)))
            if len(lines) % 500 == 0:
                lines.append("TimeStamp: 00s 100ms, buff 00%")
        self._send("\r\n".join(lines) + "\r\n")
        self.streamed.set()

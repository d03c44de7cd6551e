"""A FAKE ST X-NUCLEO-LPM01A (PowerShield firmware) on a pseudo-terminal: it
acknowledges ASCII commands as `PowerShield > ack <command>`, streams a
synthetic trace in ascii_dec (`6409-07` = 640.9 µA) after `start`, with an
`event <n> ris|fal` line at each edge of D7 (the marker), and ends with
"Acquisition completed" after `stop`. Not a PowerShield: the reply wording
beyond what hil's driver relies on is the fake's own."""

from __future__ import annotations

import math
import os
import select
import threading
import tty

from tests.energy_synth import Synthetic

PROMPT = "PowerShield > "
BOARD_ID = "FAKE-LPM01A-0042"


def ascii_dec(amps: float) -> str:
    """Four significant digits and a power of ten: 4200-06 is 4.2 mA."""
    exponent = math.floor(math.log10(amps)) - 3
    mantissa = round(amps / 10.0**exponent)
    if mantissa > 9999:
        mantissa, exponent = round(mantissa / 10), exponent + 1
    return f"{mantissa:04d}{exponent:+03d}"


class FakeLpm01a:
    def __init__(self, synth: Synthetic, *, refuse: tuple[str, ...] = ()) -> None:
        self.synth = synth
        self.refuse = refuse  # commands answered with an error
        self.commands: list[str] = []
        self.streamed = threading.Event()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _send(self, text: str) -> None:
        data = text.encode("ascii")
        while data:
            data = data[os.write(self._master, data) :]

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                pending += os.read(self._master, 1024)
            except OSError:
                return
            while b"\n" in pending:
                raw, _, pending = pending.partition(b"\n")
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

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._master)
        os.close(self._slave)

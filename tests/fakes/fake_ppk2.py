"""A FAKE Nordic PPK2 on a pseudo-terminal: it answers the PPK2's serial
commands (metadata, power mode, regulator, DUT power, start and stop) and
streams a synthetic trace as PPK2 samples at 100 kS/s, skipping the ticks
the trace drops while its sample counter runs on. Not a PPK2: only the
protocol facts hil's driver relies on, with its own calibration table."""

from __future__ import annotations

import threading
import time

import numpy as np

from tests.energy_synth import Synthetic
from tests.fakes.pty_instrument import PtyInstrument

ARGS = {0x19: 0, 0x11: 1, 0x0D: 2, 0x0C: 1, 0x06: 0, 0x07: 0}  # command byte -> argument bytes
# The fake's calibration: r (ohms), offsets o and gains gi differ from the
# nominal ones so a driver that ignored the metadata would be off.
R = (1002.5, 100.9, 10.05, 0.951, 0.0437)
OFFSET = (48.0, 32.0, 20.0, 12.0, 8.0)
GI = (1.002, 0.998, 1.001, 0.999, 1.0)
MULT = 1.8 / 163840


def metadata() -> bytes:
    lines = ["Calibrated: 1"]
    for name, values in (
        ("R", R),
        ("GS", (0.0,) * 5),
        ("GI", GI),
        ("O", OFFSET),
        ("S", (0.0,) * 5),
        ("I", (0.0,) * 5),
        ("UG", (1.0,) * 5),
    ):
        lines += [f"{name}{k}: {v}" for k, v in enumerate(values)]
    lines += ["VDD: 3300", "HW: 9173", "mode: 2", "IA: 56", "END"]
    return ("\n".join(lines) + "\n").encode()


def encode(ticks: np.ndarray, current: np.ndarray, bits: np.ndarray) -> bytes:
    """PPK2 sample words: each current in the most sensitive range that holds it."""
    words = []
    for tick, amps, logic in zip(ticks, current, bits, strict=True):
        for rng in range(5):
            adc = round(((amps / GI[rng]) * R[rng] / MULT + OFFSET[rng]) / 4)
            if adc <= 0x3FFF:
                break
        words.append(adc | rng << 14 | (int(tick) % 64) << 18 | (int(logic) & 0xFF) << 24)
    return np.asarray(words, dtype="<u4").tobytes()


class FakePpk2(PtyInstrument):
    def __init__(self, synth: Synthetic, *, silent: bool = False) -> None:
        super().__init__()
        self.synth = synth
        self.silent = silent  # never answer: a port with no PPK2 behind it
        self.commands: list[tuple[int, ...]] = []
        self.streamed = threading.Event()
        self._pending = b""
        self.start()

    def received(self, data: bytes) -> None:
        self._pending += data
        while self._pending and not self.silent:
            need = ARGS.get(self._pending[0])
            if need is None:
                raise AssertionError(f"FAKE PPK2: unknown command byte 0x{self._pending[0]:02x}")
            if len(self._pending) < 1 + need:
                break
            command, self._pending = self._pending[: 1 + need], self._pending[1 + need :]
            self.commands.append(tuple(command))
            self._answer(command[0])

    def _answer(self, command: int) -> None:
        if command == 0x19:
            self.write(metadata())
        elif command == 0x06:
            ticks, current, _, bits = self.synth.samples()
            self.write(encode(ticks, current, bits))
            self.streamed.set()

    def wait_commands(self, count: int, timeout: float = 5.0) -> list[tuple[int, ...]]:
        """The commands received, once `count` have come (or the timeout):
        the fake reads on its own thread, behind the driver's writes."""
        deadline = time.monotonic() + timeout
        while len(self.commands) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.commands)

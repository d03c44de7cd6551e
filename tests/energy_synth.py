"""Synthetic meter traces with known energy, for testing hil.energy: current
pulses of known width and amplitude on an idle floor, with the marker high
exactly during each pulse, optional Gaussian noise and dropped samples.

The expected energy comes from the pulse definitions alone (V x I x width),
not from any sum over samples, so it checks hil's integration independently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pulse:
    start_s: float
    width_s: float
    current_a: float


@dataclass(frozen=True)
class Synthetic:
    rate_hz: float
    duration_s: float
    pulses: tuple[Pulse, ...]
    idle_a: float = 0.5e-3
    voltage_v: float = 3.3
    noise: float = 0.0  # relative standard deviation of current (and a tenth of it on voltage)
    drop: tuple[tuple[int, int], ...] = ()  # [start, end) tick ranges that never arrive
    seed: int = 7
    marker_bit: int = 0
    other_bits: int = 0  # bits set on every sample besides the marker (they must be ignored)

    def tick(self, seconds: float) -> int:
        ticks = seconds * self.rate_hz
        if abs(ticks - round(ticks)) > 1e-6:
            raise ValueError(f"{seconds} s is not on the {self.rate_hz:g} S/s sample grid")
        return round(ticks)

    @property
    def n(self) -> int:
        return self.tick(self.duration_s)

    def windows(self) -> list[tuple[int, int]]:
        """[start, end) ticks of every pulse: where the marker is high."""
        return [(self.tick(p.start_s), self.tick(p.start_s + p.width_s)) for p in self.pulses]

    def clean(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current, voltage and digital bits at every tick, before noise and drops."""
        current = np.full(self.n, self.idle_a)
        bits = np.full(self.n, self.other_bits, dtype=np.int64)
        for (start, end), pulse in zip(self.windows(), self.pulses, strict=True):
            current[start:end] = pulse.current_a
            bits[start:end] |= 1 << self.marker_bit
        return current, np.full(self.n, self.voltage_v), bits

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(tick, current A, voltage V, bits) of every sample that arrives."""
        current, voltage, bits = self.clean()
        if self.noise:
            rng = np.random.default_rng(self.seed)
            current = current * (1 + self.noise * rng.standard_normal(self.n))
            voltage = voltage * (1 + self.noise / 10 * rng.standard_normal(self.n))
        keep = np.ones(self.n, dtype=bool)
        for start, end in self.drop:
            keep[start:end] = False
        ticks = np.arange(self.n)
        return ticks[keep], current[keep], voltage[keep], bits[keep]

    @property
    def dropped(self) -> int:
        return self.n - len(self.samples()[0])

    def dropped_inside_windows(self) -> int:
        inside = np.zeros(self.n, dtype=bool)
        for start, end in self.windows():
            inside[start:end] = True
        kept = np.zeros(self.n, dtype=bool)
        kept[self.samples()[0]] = True
        return int(np.sum(inside & ~kept))

    def energy_per_pulse_j(self) -> list[float]:
        return [self.voltage_v * p.current_a * p.width_s for p in self.pulses]

    def expected_energy_per_inference_j(self, inferences_per_pulse: int = 1) -> float:
        return sum(self.energy_per_pulse_j()) / (len(self.pulses) * inferences_per_pulse)


def five_pulses(rate_hz: float = 100_000, **kwargs: object) -> Synthetic:
    """Five pulses of different widths and amplitudes over 0.3 s."""
    pulses = (
        Pulse(0.010, 0.020, 4.2e-3),
        Pulse(0.050, 0.015, 6.8e-3),
        Pulse(0.100, 0.030, 3.1e-3),
        Pulse(0.170, 0.010, 9.5e-3),
        Pulse(0.220, 0.040, 5.0e-3),
    )
    return Synthetic(rate_hz=rate_hz, duration_s=0.3, pulses=pulses, **kwargs)  # type: ignore[arg-type]

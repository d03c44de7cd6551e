"""What a meter captures: samples on the meter's own sample clock, with the
marker input sampled alongside current and voltage, and who captured them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hil.energy.errors import EnergyError


@dataclass(frozen=True)
class MeterIdentity:
    """The instrument behind a trace, recorded with every figure made from it."""

    model: str
    serial: str
    sample_rate_hz: float
    sync: str  # how the marker reaches the samples, e.g. "GPI0 sampled with I and V"
    voltage: str = "sampled"  # or how it is known when not sampled ("set point 3.3 V")
    loss_detection: str = "sample counter"  # how lost samples are found, or why they cannot be

    def describe(self) -> str:
        return (
            f"{self.model} (serial {self.serial or 'unknown'}), {self.sample_rate_hz:g} S/s, "
            f"sync: {self.sync}; voltage: {self.voltage}; lost samples: {self.loss_detection}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "serial": self.serial,
            "sample_rate": {"value": self.sample_rate_hz, "unit": "S/s"},
            "sync": self.sync,
            "voltage": self.voltage,
            "loss_detection": self.loss_detection,
        }


@dataclass(frozen=True, eq=False)
class Trace:
    """Samples at ticks `index` of the meter's sample clock (strictly rising;
    a missing tick is a lost sample), with current (A), voltage (V) and the
    meter's digital inputs as bits, of which `marker_mask` is the marker."""

    identity: MeterIdentity
    index: np.ndarray
    current_a: np.ndarray
    voltage_v: np.ndarray
    marker_bits: np.ndarray
    marker_mask: int = 1
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.index)
        lengths = {len(self.current_a), len(self.voltage_v), len(self.marker_bits)}
        if lengths != {n}:
            raise EnergyError(
                f"trace arrays differ in length: index {n}, current {len(self.current_a)}, "
                f"voltage {len(self.voltage_v)}, marker {len(self.marker_bits)}"
            )
        if n and np.any(np.diff(self.index) <= 0):
            raise EnergyError("trace sample index must rise strictly (the meter's sample clock)")
        if self.identity.sample_rate_hz <= 0:
            raise EnergyError(f"sample rate must be positive, got {self.identity.sample_rate_hz}")
        if self.marker_mask <= 0:
            raise EnergyError(f"marker mask must name at least one bit, got {self.marker_mask}")

    def __len__(self) -> int:
        return len(self.index)

    @property
    def period_s(self) -> float:
        return 1.0 / self.identity.sample_rate_hz

    @property
    def marker(self) -> np.ndarray:
        return np.asarray((self.marker_bits.astype(np.int64) & self.marker_mask) != 0)

    @property
    def power_w(self) -> np.ndarray:
        return np.asarray(self.current_a * self.voltage_v)

    @property
    def lost_samples(self) -> int:
        """Ticks of the sample clock with no sample (gaps in `index`)."""
        if not len(self.index):
            return 0
        return int(self.index[-1] - self.index[0] + 1 - len(self.index))

    @property
    def duration_s(self) -> float:
        if not len(self.index):
            return 0.0
        return float(self.index[-1] - self.index[0] + 1) * self.period_s


def make_trace(
    identity: MeterIdentity,
    index: np.ndarray,
    current_a: np.ndarray,
    voltage_v: np.ndarray | float,
    marker_bits: np.ndarray,
    *,
    marker_mask: int = 1,
    notes: tuple[str, ...] = (),
) -> Trace:
    """A Trace from any array-likes; a scalar voltage is a set point for every sample."""
    index = np.asarray(index, dtype=np.int64)
    current = np.asarray(current_a, dtype=np.float64)
    voltage = (
        np.full(len(index), float(voltage_v))
        if isinstance(voltage_v, (int, float))
        else np.asarray(voltage_v, dtype=np.float64)
    )
    return Trace(
        identity,
        index,
        current,
        voltage,
        np.asarray(marker_bits, dtype=np.uint32),
        marker_mask,
        notes,
    )


def drop_invalid(
    index: np.ndarray, current: np.ndarray, voltage: np.ndarray, bits: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Remove samples whose current or voltage is NaN: meters mark missing
    samples that way, and a missing sample is a lost one, not a zero."""
    keep = np.isfinite(current) & np.isfinite(voltage)
    return index[keep], current[keep], voltage[keep], bits[keep]

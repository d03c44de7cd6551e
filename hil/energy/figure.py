"""An energy figure and everything needed to trust it: the instrument, its
sample rate and sync, the supply and clock, the windows and inferences. A
modeled figure says "modeled" wherever it is shown."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hil.energy.errors import EnergyError


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


@dataclass(frozen=True)
class EnergyFigure:
    energy_per_inference_j: float
    inferences: int
    modeled: bool
    method: str  # how the figure was obtained, in one sentence
    meter_model: str  # for a modeled figure, what the model is ("datasheet model")
    meter_serial: str = ""
    sample_rate_hz: float | None = None  # None when no meter sampled anything
    sync: str = ""  # how inference windows were found in the meter's data
    supply_v: float | None = None
    core_clock_hz: int | None = None
    windows: int | None = None  # marker windows integrated (None for modeled figures)
    window_time_s: float | None = None
    average_power_w: float | None = None
    peak_current_a: float | None = None
    idle_power_w: float | None = None  # between windows; reported, never subtracted
    lost_samples: int = 0
    filled_samples: int = 0  # lost samples inside windows, interpolated
    edge_uncertainty_samples: int = 0
    source: str = ""  # the citation a modeled figure rests on
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_per_inference_j) and self.energy_per_inference_j >= 0):
            raise EnergyError(
                f"energy per inference must be finite and >= 0, got {self.energy_per_inference_j!r}"
            )
        if self.inferences <= 0:
            raise EnergyError(f"inferences must be positive, got {self.inferences}")
        if self.modeled and not self.source:
            raise EnergyError("a modeled energy figure needs the citation of its figures")
        if self.modeled and "modeled" not in self.method:
            raise EnergyError(f"a modeled figure's method must say 'modeled': {self.method!r}")
        if not self.modeled and (self.sample_rate_hz is None or not self.sync):
            raise EnergyError("a measured energy figure needs the meter's sample rate and sync")

    @property
    def kind(self) -> str:
        return "modeled" if self.modeled else "measured"

    @property
    def label(self) -> str:
        """What to print beside the number, e.g. in a report column."""
        return "modeled (not measured)" if self.modeled else f"measured ({self.meter_model})"

    def describe(self) -> str:
        text = f"{_si(self.energy_per_inference_j, 'J')} per inference, {self.label}: {self.method}"
        if self.modeled:
            text += f"; source: {self.source}"
        else:
            text += (
                f"; {self.windows} window(s), {self.inferences} inference(s), "
                f"meter {self.meter_model} serial {self.meter_serial or 'unknown'} at "
                f"{self.sample_rate_hz:g} S/s, sync: {self.sync}"
            )
            if self.lost_samples:
                text += f"; {self.lost_samples} sample(s) lost ({self.filled_samples} in windows)"
            if self.idle_power_w is not None:
                text += f"; idle between windows {_si(self.idle_power_w, 'W')} (not subtracted)"
        return text

    def to_dict(self) -> dict[str, object]:
        def quantity(value: float | int | None, unit: str) -> dict[str, object] | None:
            return None if value is None else {"value": value, "unit": unit}

        return {
            "kind": self.kind,
            "modeled": self.modeled,
            "label": self.label,
            "method": self.method,
            "energy_per_inference": quantity(self.energy_per_inference_j, "J"),
            "inferences": self.inferences,
            "windows": self.windows,
            "window_time": quantity(self.window_time_s, "s"),
            "average_power": quantity(self.average_power_w, "W"),
            "peak_current": quantity(self.peak_current_a, "A"),
            "idle_power": quantity(self.idle_power_w, "W"),
            "supply_voltage": quantity(self.supply_v, "V"),
            "core_clock": quantity(self.core_clock_hz, "Hz"),
            "meter": {
                "model": self.meter_model,
                "serial": self.meter_serial,
                "sample_rate": quantity(self.sample_rate_hz, "S/s"),
                "sync": self.sync,
            },
            "lost_samples": self.lost_samples,
            "filled_samples": self.filled_samples,
            "edge_uncertainty_samples": self.edge_uncertainty_samples,
            "source": self.source,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyFigure:
        """The inverse of to_dict: KeyError, TypeError or ValueError if it is
        not one, EnergyError if the figure it holds is not a valid one."""

        def quantity(key: str, of: Mapping[str, Any] = data) -> float | None:
            found = of.get(key)
            return None if found is None else float(found["value"])

        meter = data["meter"]
        clock = quantity("core_clock")
        per_inference = quantity("energy_per_inference")
        if per_inference is None:
            raise ValueError("no energy_per_inference")
        return cls(
            energy_per_inference_j=per_inference,
            inferences=int(data["inferences"]),
            modeled=bool(data["modeled"]),
            method=str(data["method"]),
            meter_model=str(meter["model"]),
            meter_serial=str(meter.get("serial") or ""),
            sample_rate_hz=quantity("sample_rate", meter),
            sync=str(meter.get("sync") or ""),
            supply_v=quantity("supply_voltage"),
            core_clock_hz=None if clock is None else int(clock),
            windows=None if data.get("windows") is None else int(data["windows"]),
            window_time_s=quantity("window_time"),
            average_power_w=quantity("average_power"),
            peak_current_a=quantity("peak_current"),
            idle_power_w=quantity("idle_power"),
            lost_samples=int(data.get("lost_samples") or 0),
            filled_samples=int(data.get("filled_samples") or 0),
            edge_uncertainty_samples=int(data.get("edge_uncertainty_samples") or 0),
            source=str(data.get("source") or ""),
            notes=tuple(str(n) for n in data.get("notes") or ()),
        )

"""A board file's optional [regression] table: how far a figure may rise from
its baseline before it counts as a regression. Hardware counters and energy
meters are noisier than QEMU's instruction counts, so boards may widen them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.errors import BoardFileError

DEFAULT_COUNTER_PCT = 2.0  # emulated instruction counts repeat exactly
DEFAULT_ENERGY_PCT = 5.0


@dataclass(frozen=True)
class RegressionThresholds:
    """Percent increases over the baseline that still pass. Arena, flash and
    stack have no threshold: any increase is a regression."""

    counter_pct: float = DEFAULT_COUNTER_PCT
    energy_pct: float = DEFAULT_ENERGY_PCT


FIELDS = ("counter_pct", "energy_pct")


def parse_regression(data: Any, path: Path) -> RegressionThresholds:
    """[regression] counter_pct = 5.0, energy_pct = 8 (both optional)."""
    if data is None:
        return RegressionThresholds()
    if not isinstance(data, dict):
        raise BoardFileError(f"{path}: regression: expected a table, got {data!r}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise BoardFileError(
            f"{path}: regression: unknown key {unknown[0]!r} (known: {', '.join(FIELDS)})"
        )
    values: dict[str, float] = {}
    for key in FIELDS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BoardFileError(
                f"{path}: regression.{key}: expected a number of percent, got {value!r}"
            )
        if value < 0:
            raise BoardFileError(f"{path}: regression.{key}: must be >= 0, got {value}")
        values[key] = float(value)
    return RegressionThresholds(**values)

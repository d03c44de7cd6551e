"""Budgets as gates: a figure and its limit side by side. A gate that cannot
be evaluated (no labels, no counter of that kind) is an error saying why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hil.errors import HilError

SIZE_UNITS: dict[str, float] = {
    "": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
ENERGY_UNITS = {"j": 1.0, "mj": 1e-3, "uj": 1e-6, "nj": 1e-9}


class BudgetError(HilError):
    """A budget is malformed, or cannot be evaluated."""


def _parse(text: str, units: dict[str, float], what: str) -> float:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in units:
        raise BudgetError(
            f"{what} {text!r}: expected a number with one of the units "
            f"{', '.join(u for u in units if u)}"
        )
    return float(m.group(1)) * units[m.group(2).lower()]


def parse_points(text: str) -> float:
    """'2%' or '2' -> 2.0 percentage points."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*%?\s*", str(text))
    if not m:
        raise BudgetError(f"accuracy drop {text!r}: expected percentage points, e.g. 2%")
    return float(m.group(1))


@dataclass(frozen=True)
class Budgets:
    accuracy_drop_points: float | None = None
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    latency_s: float | None = None
    energy_j: float | None = None

    @classmethod
    def parse(cls, values: dict[str, Any]) -> Budgets:
        """From CLI options or [tool.hil] keys (max_accuracy_drop, max_arena,
        max_flash, max_latency, max_energy); None leaves a budget unset."""
        known = {"max_accuracy_drop", "max_arena", "max_flash", "max_latency", "max_energy"}
        unknown = set(values) - known
        if unknown:
            raise BudgetError(f"unknown budget(s) {sorted(unknown)}; known: {sorted(known)}")

        def get(key: str) -> Any:
            return values.get(key)

        return cls(
            accuracy_drop_points=None
            if get("max_accuracy_drop") is None
            else parse_points(get("max_accuracy_drop")),
            arena_bytes=None
            if get("max_arena") is None
            else int(_parse(get("max_arena"), SIZE_UNITS, "arena")),
            flash_bytes=None
            if get("max_flash") is None
            else int(_parse(get("max_flash"), SIZE_UNITS, "flash")),
            latency_s=None
            if get("max_latency") is None
            else _parse(get("max_latency"), TIME_UNITS, "latency"),
            energy_j=None
            if get("max_energy") is None
            else _parse(get("max_energy"), ENERGY_UNITS, "energy"),
        )

    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())


@dataclass(frozen=True)
class Verdict:
    variant: str
    gate: str
    figure: str
    budget: str
    ok: bool

    def describe(self) -> str:
        word = "within" if self.ok else "over"
        return f"{self.variant}: {self.gate} {self.figure} {word} budget {self.budget}"


def judge(row: dict[str, Any], budgets: Budgets, baseline: bool) -> list[Verdict]:
    """The verdict of every set budget on one row of the variants table."""
    out: list[Verdict] = []
    name = row["variant"]
    if budgets.accuracy_drop_points is not None and not baseline:
        if row.get("accuracy") is None:
            raise BudgetError(f"{name}: accuracy-drop gate needs a labelled dataset")
        drop = row["accuracy_drop_points"]
        out.append(
            Verdict(name, "accuracy drop", f"{drop:.2f} points",
                    f"{budgets.accuracy_drop_points:g} points",
                    drop <= budgets.accuracy_drop_points)
        )
    if budgets.arena_bytes is not None:
        if row.get("arena_bytes") is None:
            raise BudgetError(f"{name}: the device did not report its arena use")
        out.append(Verdict(name, "arena", f"{row['arena_bytes']} B",
                           f"{budgets.arena_bytes} B", row["arena_bytes"] <= budgets.arena_bytes))
    if budgets.flash_bytes is not None:
        if row.get("flash_bytes") is None:
            raise BudgetError(f"{name}: no firmware image to read flash use from")
        out.append(Verdict(name, "flash", f"{row['flash_bytes']} B",
                           f"{budgets.flash_bytes} B", row["flash_bytes"] <= budgets.flash_bytes))
    if budgets.latency_s is not None:
        if row.get("counter_kind") != "cycles":
            raise BudgetError(
                f"{name}: a latency budget needs a cycle counter and the core clock; this "
                f"device counts {row.get('counter_kind') or 'nothing'} (QEMU's instruction "
                "count is not time)"
            )
        latency = row["latency_s"]
        out.append(Verdict(name, "latency", f"{latency * 1e3:.3f} ms",
                           f"{budgets.latency_s * 1e3:g} ms", latency <= budgets.latency_s))
    if budgets.energy_j is not None:
        if row.get("energy_uj") is None:
            raise BudgetError(f"{name}: no energy figure ({row.get('energy_unavailable')})")
        kind = "modeled" if row.get("energy_modeled") else "measured"
        out.append(Verdict(name, f"energy ({kind})", f"{row['energy_uj']:.3f} uJ",
                           f"{budgets.energy_j * 1e6:g} uJ",
                           row["energy_uj"] * 1e-6 <= budgets.energy_j))
    return out

"""Turn raw device counters into named figures: cycles on hardware,
instructions on QEMU; never one called the other (docs/counters.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from hil.errors import HilError


class CounterKind(IntEnum):
    """Which counter the device's firmware reads (its HELLO response says)."""

    NONE = 0
    CYCLES = 1
    SYSTICK = 2


@dataclass(frozen=True)
class Measurement:
    kind: str  # "cycles" | "instructions" | "ticks"
    value: int
    method: str

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "value": self.value, "unit": self.kind, "method": self.method}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """The inverse of to_dict (KeyError, TypeError or ValueError if it is not one)."""
        return cls(str(data["kind"]), int(data["value"]), str(data["method"]))


def interpret_counter(
    kind: CounterKind, ticks: int, *, backend: str, clock_hz: int, icount_shift: int | None = None
) -> Measurement | None:
    if kind == CounterKind.NONE:
        return None
    if backend == "qemu":
        if kind != CounterKind.SYSTICK or icount_shift is None:
            raise HilError(
                f"QEMU reports counter kind {kind.name}; only SysTick under -icount "
                "gives meaningful counts there"
            )
        # SysTick ticks at clock_hz of virtual time; each instruction is 2**shift ns.
        ns_per_insn = 1 << icount_shift
        instructions = round(ticks * 1e9 / clock_hz / ns_per_insn)
        method = (
            f"QEMU -icount shift={icount_shift} ({ns_per_insn} ns per instruction), "
            f"SysTick at {clock_hz} Hz: instructions = ticks * 1e9 / {clock_hz} / "
            f"{ns_per_insn}"
        )
        return Measurement("instructions", instructions, method)
    if backend == "fvp":
        return Measurement(
            "ticks",
            ticks,
            f"FVP SysTick at nominal {clock_hz} Hz (instruction-based model, not hardware cycles)",
        )
    source = "DWT CYCCNT" if kind == CounterKind.CYCLES else "SysTick"
    return Measurement("cycles", ticks, f"{source} at {clock_hz} Hz core clock")


def comparable(a: Measurement, b: Measurement) -> bool:
    return a.kind == b.kind


def require_comparable(a: Measurement, b: Measurement) -> None:
    if not comparable(a, b):
        raise HilError(f"refusing to compare {a.kind} ({a.method}) with {b.kind} ({b.method})")

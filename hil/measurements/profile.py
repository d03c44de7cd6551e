"""Per-operator profiles: where an inference spends its counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpProfile:
    index: int
    op: str
    value: int


@dataclass
class Profile:
    """Per-operator counts of one profiled invocation (the first vector's).

    Each operator's figure includes one read of the counter. `whole` is the
    same inputs' unprofiled inference; `profiled_total` the profiled run's,
    which also pays for every counter read."""

    kind: str
    method: str
    ops: list[OpProfile]
    whole: int
    profiled_total: int

    @property
    def op_sum(self) -> int:
        return sum(o.value for o in self.ops)

    def table(self) -> str:
        width = max((len(o.op) for o in self.ops), default=2)
        lines = [f"{'#':>4}  {'op':<{width}}  {self.kind:>14}  {'share':>6}"]
        for o in self.ops:
            share = self.share(o)
            lines.append(f"{o.index:>4}  {o.op:<{width}}  {o.value:>14,}  {share:>6.1%}")
        lines.append(f"{'':>4}  {'sum of ops':<{width}}  {self.op_sum:>14,}")
        lines.append(f"{'':>4}  {'whole inference':<{width}}  {self.whole:>14,}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "unit": self.kind,
            "method": self.method,
            "whole_inference": self.whole,
            "profiled_run": self.profiled_total,
            "sum_of_ops": self.op_sum,
            "ops": [{"index": o.index, "op": o.op, "value": o.value} for o in self.ops],
        }

    def share(self, op: OpProfile) -> float:
        """The operator's part of the whole (unprofiled) inference."""
        return op.value / self.whole if self.whole else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """The inverse of to_dict (KeyError, TypeError or ValueError if it is not one)."""
        return cls(
            kind=str(data["kind"]),
            method=str(data["method"]),
            ops=[OpProfile(int(o["index"]), str(o["op"]), int(o["value"])) for o in data["ops"]],
            whole=int(data["whole_inference"]),
            profiled_total=int(data["profiled_run"]),
        )

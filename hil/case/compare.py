"""Compare a device output with a reference output and explain any difference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.model.tensor import TensorSpec

SHOWN_MISMATCHES = 8


@dataclass(frozen=True)
class Tolerance:
    """Allowed difference: `lsb` for integer tensors; atol + rtol*|ref| for floats."""

    lsb: int = 0
    atol: float = 0.0
    rtol: float = 0.0

    def describe(self, dtype: np.dtype) -> str:
        if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
            return "exact" if self.lsb == 0 else f"±{self.lsb} LSB"
        if self.atol == 0 and self.rtol == 0:
            return "exact"
        return f"atol {self.atol:g} + rtol {self.rtol:g}"


EXACT = Tolerance()


@dataclass(frozen=True)
class TensorComparison:
    output: int
    spec: TensorSpec
    reference: str
    tolerance: str
    ok: bool
    n_elements: int
    n_outside: int
    n_different: int
    max_abs_diff: float
    shown: tuple[tuple[tuple[int, ...], float, float], ...]  # index, device, reference
    #: Elements outside tolerance where the reference itself departs from the
    #: bit-exact oracle by more than the tolerance: not held against the device.
    n_excused: int = 0

    def _dequant(self, value: float) -> str:
        if not self.spec.quantized:
            return ""
        return f"{(value - self.spec.zero_point) * self.spec.scale:.6g}"

    def describe(self) -> str:
        name = self.spec.name or "(unnamed)"
        unit = " LSB" if np.issubdtype(self.spec.dtype, np.integer) else ""
        lines = [
            f"output {self.output} '{name}' vs {self.reference} ({self.tolerance}): "
            f"{self.n_outside} of {self.n_elements} elements outside tolerance "
            f"({self.n_different} differ), max |diff| {self.max_abs_diff:g}{unit}"
        ]
        if self.n_excused:
            lines[0] += (
                f"; {self.n_excused} of them where {self.reference} itself departs from the "
                "exact oracle beyond tolerance (not counted against the device)"
            )
        if self.shown:
            header = f"  {'index':<16} {'device':>12} {'reference':>12}"
            if self.spec.quantized:
                header += f" {'device (deq)':>14} {'ref (deq)':>14}"
            lines.append(header)
            for index, dev, ref in self.shown:
                row = f"  {list(index)!s:<16} {dev:>12g} {ref:>12g}"
                if self.spec.quantized:
                    row += f" {self._dequant(dev):>14} {self._dequant(ref):>14}"
                lines.append(row)
        return "\n".join(lines)


def _outside(a: np.ndarray, b: np.ndarray, tolerance: Tolerance) -> tuple[np.ndarray, np.ndarray]:
    """Per element: |a - b| as float64, and whether it exceeds the tolerance."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    diff = np.abs(x - y)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        return diff, diff > tolerance.lsb
    # NaN on either side is a difference unless both are NaN.
    both_nan = np.isnan(x) & np.isnan(y)
    diff = np.where(both_nan, 0.0, diff)
    limit = tolerance.atol + tolerance.rtol * np.abs(y)
    return diff, (np.isnan(x) != np.isnan(y)) | (diff > limit)


def compare_tensor(
    output: int,
    spec: TensorSpec,
    device: np.ndarray,
    reference: np.ndarray,
    reference_name: str,
    tolerance: Tolerance,
    oracle: np.ndarray | None = None,
) -> TensorComparison:
    """Compare one output. Given `oracle` (the bit-exact reference's output),
    elements where `reference` is itself out of tolerance of it are excused."""
    if device.shape != reference.shape:
        raise ValueError(
            f"output {output}: device shape {list(device.shape)} but {reference_name} gives "
            f"{list(reference.shape)}"
        )
    dev = device.astype(np.float64)
    ref = reference.astype(np.float64)
    diff, outside = _outside(device, reference, tolerance)
    excused = np.zeros_like(outside)
    if oracle is not None and oracle.shape == reference.shape:
        excused = outside & _outside(reference, oracle, tolerance)[1]
    different = (dev != ref) & ~(np.isnan(dev) & np.isnan(ref))
    first = np.argwhere(outside)[:SHOWN_MISMATCHES]
    shown = tuple(
        (tuple(int(i) for i in idx), float(dev[tuple(idx)]), float(ref[tuple(idx)]))
        for idx in first
    )
    finite = diff[np.isfinite(diff)]
    return TensorComparison(
        output=output,
        spec=spec,
        reference=reference_name,
        tolerance=tolerance.describe(device.dtype),
        ok=not bool((outside & ~excused).any()),
        n_elements=int(device.size),
        n_outside=int(outside.sum()),
        n_different=int(different.sum()),
        max_abs_diff=float(finite.max()) if finite.size else float("nan"),
        shown=shown,
        n_excused=int(excused.sum()),
    )

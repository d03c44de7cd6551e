"""Compare two variants of a model (float vs int8, original vs pruned) on the
same device and the same inputs: how far B strays from A, and what it costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.case.model_case import ModelCase
from hil.case.runner import CaseResult, run_case
from hil.device.protocol import Device
from hil.errors import HilError
from hil.model.facts import ModelFacts, model_facts
from hil.model.file import ModelFile
from hil.model.tensor import TensorSpec
from hil.model.vectors import Vector


def _real_range(specs: Sequence[TensorSpec], fallback: tuple[float, float]) -> tuple[float, float]:
    """The real-valued range both models can take: a quantized input's whole
    representable range, else `fallback`."""
    for spec in specs:
        if spec.quantized and np.issubdtype(spec.dtype, np.integer):
            info = np.iinfo(spec.dtype)
            return (
                (info.min - spec.zero_point) * spec.scale,
                (info.max - spec.zero_point) * spec.scale,
            )
    return fallback


def _to_model(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """A real-valued array as this input wants it: quantized, or as floats."""
    if spec.quantized and np.issubdtype(spec.dtype, np.integer):
        info = np.iinfo(spec.dtype)
        q = np.round(x / spec.scale) + spec.zero_point
        return np.clip(q, info.min, info.max).astype(spec.dtype)
    return x.astype(spec.dtype)


def _real(y: np.ndarray, spec: TensorSpec) -> np.ndarray:
    if spec.quantized:
        return (y.astype(np.float64) - spec.zero_point) * spec.scale
    return y.astype(np.float64)


def is_classifier(model: ModelFile) -> bool:
    """One output with more than one class: top-1 (argmax) means something."""
    outputs = model.outputs
    return len(outputs) == 1 and len(outputs[0].shape) > 0 and outputs[0].shape[-1] > 1


def shared_vectors(
    a: ModelFile, b: ModelFile, count: int, seed: int, float_range: tuple[float, float]
) -> tuple[list[Vector], list[Vector]]:
    """The same real-valued inputs, each expressed in each model's input types."""
    if len(a.inputs) != len(b.inputs):
        raise HilError(f"{a.name} has {len(a.inputs)} inputs, {b.name} {len(b.inputs)}")
    for i, (sa, sb) in enumerate(zip(a.inputs, b.inputs, strict=True)):
        if sa.shape != sb.shape:
            raise HilError(f"input {i}: {a.name} takes {list(sa.shape)}, {b.name} {list(sb.shape)}")
    lo, hi = _real_range([*a.inputs, *b.inputs], float_range)
    rng = np.random.default_rng(seed)
    va, vb = [], []
    for _ in range(count):
        xs = [rng.uniform(lo, hi, size=s.shape) for s in a.inputs]
        va.append([_to_model(x, s) for x, s in zip(xs, a.inputs, strict=True)])
        vb.append([_to_model(x, s) for x, s in zip(xs, b.inputs, strict=True)])
    return va, vb


@dataclass
class ModelComparison:
    a: CaseResult
    b: CaseResult
    facts_a: ModelFacts
    facts_b: ModelFacts
    top1_agreement: float | None  # fraction of vectors with the same argmax; None: not a classifier
    max_abs_error: float
    mean_abs_error: float

    @property
    def top1_drop(self) -> float | None:
        return None if self.top1_agreement is None else 1.0 - self.top1_agreement

    def ratios(self) -> dict[str, float | None]:
        def ratio(b: float | None, a: float | None) -> float | None:
            return b / a if a and b is not None else None

        ca, cb = self.a.counter(), self.b.counter()
        counter = None
        if ca and cb:
            if ca.kind != cb.kind:
                raise HilError(f"refusing to compare {ca.kind} with {cb.kind}")
            counter = ratio(cb.median, ca.median)
        return {
            "model_bytes": ratio(len(self.b.model.data), len(self.a.model.data)),
            "macs": ratio(self.facts_b.macs, self.facts_a.macs),
            "params": ratio(self.facts_b.params, self.facts_a.params),
            "arena_bytes": ratio(self.b.loaded.arena_used, self.a.loaded.arena_used),
            "counter": counter,
            "energy": self._energy_ratio(),
        }

    def _energy_ratio(self) -> float | None:
        """Only like with like: two measured figures, or two modeled ones."""
        ea, eb = self.a.energy, self.b.energy
        if ea is None or eb is None or ea.modeled != eb.modeled or not ea.energy_per_inference_j:
            return None
        return eb.energy_per_inference_j / ea.energy_per_inference_j

    def to_dict(self) -> dict[str, Any]:
        counter = self.a.counter()
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "facts": {"a": self.facts_a.to_dict(), "b": self.facts_b.to_dict()},
            "b_vs_a": {
                "vectors": len(self.a.vectors),
                "top1_agreement": self.top1_agreement,
                "max_abs_error": self.max_abs_error,
                "mean_abs_error": self.mean_abs_error,
                "error_unit": "dequantized output units",
            },
            "ratios_b_over_a": self.ratios(),
            "counter_kind": counter.kind if counter else None,
        }


def compare_models(
    dut: Device,
    a: Path,
    b: Path,
    *,
    vectors: int = 100,
    seed: int = 0,
    float_range: tuple[float, float] = (-1.0, 1.0),
    litert_resolver: str = "ref",
) -> ModelComparison:
    """Run A and B on the device (each checked against the host references)
    on the same inputs, and compare B's outputs with A's after dequantization."""
    fa, fb = ModelFile(a), ModelFile(b)
    if len(fa.outputs) != len(fb.outputs):
        raise HilError(f"{fa.name} has {len(fa.outputs)} outputs, {fb.name} {len(fb.outputs)}")
    va, vb = shared_vectors(fa, fb, vectors, seed, float_range)
    labelled = [(f"shared seed={seed} #{n}", v) for n, v in enumerate(va)]
    ra = run_case(dut, ModelCase(a), vectors=labelled, litert_resolver=litert_resolver)
    labelled = [(f"shared seed={seed} #{n}", v) for n, v in enumerate(vb)]
    rb = run_case(dut, ModelCase(b), vectors=labelled, litert_resolver=litert_resolver)
    errors: list[np.ndarray] = []
    same_top1: list[bool] = []
    classifier = is_classifier(fa)
    for xa, xb in zip(ra.vectors, rb.vectors, strict=True):
        for i, (sa, sb) in enumerate(zip(fa.outputs, fb.outputs, strict=True)):
            ya, yb = _real(xa.outputs[i], sa), _real(xb.outputs[i], sb)
            errors.append(np.abs(yb - ya).ravel())
            if classifier:
                same_top1.append(int(np.argmax(ya)) == int(np.argmax(yb)))
    err = np.concatenate(errors) if errors else np.zeros(1)
    return ModelComparison(
        a=ra,
        b=rb,
        facts_a=model_facts(fa),
        facts_b=model_facts(fb),
        top1_agreement=float(np.mean(same_top1)) if classifier else None,
        max_abs_error=float(err.max()),
        mean_abs_error=float(err.mean()),
    )

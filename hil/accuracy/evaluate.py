"""Evaluate a model on a labelled dataset on the device, and on every host
reference from the same inputs: a device that differs from the host is
caught per sample, even when its accuracy happens to match."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hil.accuracy.dataset import Dataset, DatasetError, model_inputs
from hil.accuracy.metrics import anomaly_figures, classification_figures
from hil.case.model_case import ModelCase
from hil.case.runner import CaseResult, run_case
from hil.errors import HilError
from hil.model.file import ModelFile
from hil.model.tensor import TensorSpec
from hil.references import Reference, make_references

TASKS = ("auto", "classification", "anomaly")


class _Recording(Reference):
    """A reference that keeps every output it computed."""

    def __init__(self, inner: Reference) -> None:
        self.inner = inner
        self.name = inner.name
        self.agreement = inner.agreement
        self.outputs: list[list[np.ndarray]] = []

    @property
    def version(self) -> str:
        return self.inner.version

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = self.inner.run(inputs)
        self.outputs.append(out)
        return out

    def reset(self) -> None:
        self.inner.reset()

    def arena_used_bytes(self) -> int | None:
        return self.inner.arena_used_bytes()

    def close(self) -> None:
        self.inner.close()


def _real(y: np.ndarray, spec: TensorSpec) -> np.ndarray:
    y64 = y.astype(np.float64)
    return (y64 - spec.zero_point) * spec.scale if spec.quantized else y64


def infer_task(model: ModelFile, task: str) -> str:
    if task not in TASKS:
        raise HilError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if len(model.outputs) != 1:
        raise HilError(f"{model.name}: accuracy needs a single-output model, it has "
                       f"{len(model.outputs)}")
    if task != "auto":
        return task
    same = int(np.prod(model.outputs[0].shape)) == int(np.prod(model.inputs[0].shape))
    return "anomaly" if same and model.outputs[0].shape[-1] > 16 else "classification"


@dataclass
class Evaluation:
    """Scores per sample from each source (device, tflm, litert)."""

    model: ModelFile
    dataset: Dataset
    task: str
    top_k: tuple[int, ...]
    indices: list[int]
    labels: np.ndarray
    scores: dict[str, np.ndarray]  # source -> [samples, classes] (or [samples] for anomaly)
    case: CaseResult | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    stored_bit_exact: bool = True  # every stored chunk's outputs matched the host bit for bit

    def predictions(self, source: str) -> np.ndarray:
        return np.asarray(np.argmax(self.scores[source], axis=1))

    def figures(self, source: str) -> dict[str, Any]:
        if self.task == "anomaly":
            return anomaly_figures(self.scores[source], self.labels)
        return classification_figures(
            self.scores[source], self.labels, self.dataset.num_classes, self.top_k
        )

    def accuracy(self, source: str = "device") -> float:
        f = self.figures(source)
        return float(f["auc"] if self.task == "anomaly" else f["accuracy"])

    def disagreements(self, reference: str = "tflm") -> list[int]:
        """Dataset indices where the device's prediction (classifier) or score
        (detector) differs from this reference's."""
        dev, ref = self.scores["device"], self.scores[reference]
        if self.task == "anomaly":
            differs = dev != ref
        else:
            differs = np.argmax(dev, axis=1) != np.argmax(ref, axis=1)
        return [self.indices[i] for i in np.flatnonzero(differs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.model.path),
            "model_sha256": self.model.sha256,
            "dataset": self.dataset.source,
            "dataset_fingerprint": self.dataset.whole_fingerprint or self.dataset.fingerprint(),
            "shard": list(self.dataset.shard),
            "task": self.task,
            "samples": len(self.indices),
            "figures": {s: self.figures(s) for s in self.scores},
            "device_vs_host": {
                r: {"differing_samples": self.disagreements(r)}
                for r in self.scores
                if r != "device"
            },
            "unavailable_references": self.unavailable,
            "per_sample": {
                "index": self.indices,
                "label": self.labels.tolist(),
                **{s: v.tolist() for s, v in self.scores.items()},
            },
        }


def _sample_score(
    task: str, outputs: list[list[np.ndarray]], vectors: list[list[np.ndarray]], model: ModelFile
) -> np.ndarray:
    """Mean over a sample's windows: dequantized class scores, or the
    reconstruction error (MSE of the real values) as MLPerf Tiny's AD does."""
    out_spec, in_spec = model.outputs[0], model.inputs[0]
    if task == "anomaly":
        errs = [
            np.mean((_real(o[0], out_spec).ravel() - _real(v[0], in_spec).ravel()) ** 2)
            for o, v in zip(outputs, vectors, strict=True)
        ]
        return np.array(np.mean(errs))
    return np.asarray(np.mean([_real(o[0], out_spec).ravel() for o in outputs], axis=0))


def evaluate(
    dut: Any,
    model_path: Path,
    dataset: Dataset,
    *,
    task: str = "auto",
    top_k: Sequence[int] = (1,),
    input_scale: float | None = None,
    references: tuple[str, ...] = ("tflm", "litert"),
    litert_resolver: str = "ref",
    on_progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    model = ModelFile(model_path)
    task = infer_task(model, task)
    if task == "classification" and model.outputs[0].shape[-1] < dataset.num_classes:
        raise DatasetError(
            f"{dataset.name} has {dataset.num_classes} classes, {model.name} outputs "
            f"{model.outputs[0].shape[-1]} scores"
        )
    if task == "anomaly" and dataset.num_classes != 2:
        raise DatasetError(f"anomaly detection needs labels 0/1, {dataset.name} has "
                           f"{dataset.num_classes} classes")
    per_sample = [model_inputs(s, model.inputs, input_scale) for s in dataset.samples]
    vectors = [
        (f"{s.name}" + (f" window {w}" if len(ws) > 1 else ""), v)
        for s, ws in zip(dataset.samples, per_sample, strict=True)
        for w, v in enumerate(ws)
    ]
    refs, unavailable = make_references(model.data, 1, references, litert_resolver)
    recording = [_Recording(r) for r in refs]
    try:
        result = run_case(
            dut,
            ModelCase(model_path, vectors=0),
            vectors=vectors,
            references=list(recording),
            litert_resolver=litert_resolver,
            on_vector=on_progress,
        )
    finally:
        for r in recording:
            r.close()
    result.unavailable.update(unavailable)
    outputs = {"device": [v.outputs for v in result.vectors]}
    outputs.update({r.name: r.outputs for r in recording})
    scores: dict[str, np.ndarray] = {}
    for source, outs in outputs.items():
        rows, at = [], 0
        for ws in per_sample:
            rows.append(_sample_score(task, outs[at : at + len(ws)], ws, model))
            at += len(ws)
        scores[source] = np.array(rows)
    return Evaluation(
        model=model,
        dataset=dataset,
        task=task,
        top_k=tuple(top_k),
        indices=[s.index for s in dataset.samples],
        labels=dataset.labels,
        scores=scores,
        case=result,
        unavailable=unavailable,
    )


def merge(parts: Sequence[Evaluation]) -> Evaluation:
    """The figures of shards evaluated apart (several boards): the samples of
    every part, each once, in dataset order."""
    if not parts:
        raise HilError("nothing to merge")
    first = parts[0]
    for p in parts[1:]:
        if p.model.sha256 != first.model.sha256 or p.task != first.task:
            raise HilError(f"cannot merge evaluations of {first.model.name} and {p.model.name}")
        if set(p.scores) != set(first.scores):
            raise HilError(f"shards ran different references: {sorted(p.scores)} vs "
                           f"{sorted(first.scores)}")
    indices = [i for p in parts for i in p.indices]
    if len(set(indices)) != len(indices):
        raise HilError("shards overlap: a sample was evaluated twice")
    order = np.argsort(indices, kind="stable")
    return Evaluation(
        model=first.model,
        dataset=first.dataset,
        task=first.task,
        top_k=first.top_k,
        indices=[indices[i] for i in order],
        labels=np.concatenate([p.labels for p in parts])[order],
        scores={s: np.concatenate([p.scores[s] for p in parts])[order] for s in first.scores},
        case=None,
        unavailable=first.unavailable,
    )


def merge_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merge the JSON records (`Evaluation.to_dict`) of the shards of one
    evaluation, e.g. from several boards or xdist workers: the figures are
    computed again over the union of their samples."""
    if not records:
        raise HilError("nothing to merge")
    first = records[0]
    for r in records[1:]:
        for key in ("model_sha256", "dataset_fingerprint", "task"):
            if r.get(key) != first.get(key):
                raise HilError(f"cannot merge shards with different {key}: "
                               f"{first.get(key)} vs {r.get(key)}")
    sources = [k for k in first["per_sample"] if k not in ("index", "label")]
    index = [i for r in records for i in r["per_sample"]["index"]]
    if len(set(index)) != len(index):
        raise HilError("shards overlap: a sample was evaluated twice")
    order = np.argsort(index, kind="stable")
    labels = np.array([v for r in records for v in r["per_sample"]["label"]])[order]
    scores = {
        s: np.array([v for r in records for v in r["per_sample"][s]])[order] for s in sources
    }
    top_k = tuple(int(k) for k in first["figures"]["device"].get("top_k", {"1": 0}))
    num_classes = len(first["figures"]["device"].get("per_class", {})) or 2

    def figures(source: str) -> dict[str, Any]:
        if first["task"] == "anomaly":
            return anomaly_figures(scores[source], labels)
        return classification_figures(scores[source], labels, num_classes, top_k)

    return {
        "model_sha256": first["model_sha256"],
        "dataset_fingerprint": first["dataset_fingerprint"],
        "task": first["task"],
        "samples": len(index),
        "shards": [r["shard"] for r in records],
        "figures": {s: figures(s) for s in sources},
        "per_sample": {
            "index": [index[i] for i in order],
            "label": labels.tolist(),
            **{s: v.tolist() for s, v in scores.items()},
        },
    }

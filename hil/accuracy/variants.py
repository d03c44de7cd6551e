"""The variants table: one row per variant of a model (the first is the
baseline), with what each costs and what it loses against the baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hil.accuracy.evaluate import Evaluation
from hil.accuracy.sparsity import sparsity
from hil.model.facts import model_facts

COLUMNS = (
    ("variant", "variant"),
    ("file_bytes", "file B"),
    ("params", "params"),
    ("zero_fraction", "zeros"),
    ("macs", "MACs"),
    ("arena_bytes", "arena B"),
    ("flash_bytes", "flash B (fw+model)"),
    ("counter", "per inference"),
    ("energy_uj", "energy uJ"),
    ("accuracy", "accuracy"),
    ("accuracy_drop_points", "drop (points)"),
    ("device_vs_tflm", "device = host"),
)


def variant_row(ev: Evaluation, board_clock_hz: int | None) -> dict[str, Any]:
    case = ev.case
    facts = model_facts(ev.model)
    sp = sparsity(ev.model)
    counter = case.counter() if case else None
    fp = case.footprint if case else None
    energy = case.energy if case else None
    kind = counter.kind if counter else None
    median = counter.median if counter else None
    differing = ev.disagreements("tflm") if "tflm" in ev.scores else None
    return {
        "variant": ev.model.name,
        "model": str(ev.model.path),
        "task": ev.task,
        "file_bytes": len(ev.model.data),
        "params": facts.params,
        "zero_params": sp.zeros,
        "zero_fraction": sp.fraction,
        "macs": facts.macs,
        "arena_bytes": case.loaded.arena_used if case else None,
        "flash_bytes": fp.flash + len(ev.model.data) if fp else None,
        "flash_basis": "firmware image flash + model bytes, as if the model were linked in",
        "counter_kind": kind,
        "counter_median": median,
        "latency_s": median / board_clock_hz
        if kind == "cycles" and median is not None and board_clock_hz
        else None,
        "energy_uj": energy.energy_per_inference_j * 1e6 if energy else None,
        "energy_modeled": energy.modeled if energy else None,
        "energy_unavailable": case.energy_unavailable if case else None,
        "accuracy": ev.accuracy("device"),
        "accuracy_metric": "auc" if ev.task == "anomaly" else "top-1",
        "host_accuracy": {s: ev.accuracy(s) for s in ev.scores if s != "device"},
        "samples": len(ev.indices),
        "device_vs_tflm": None if differing is None else len(differing) == 0,
        "differing_samples": differing,
        "outputs_bit_exact": case.passed if case else None,
        "figures": ev.figures("device"),
    }


def variants_table(evaluations: Sequence[Evaluation], clock_hz: int | None) -> list[dict[str, Any]]:
    rows = [variant_row(ev, clock_hz) for ev in evaluations]
    base = rows[0]
    for row in rows:
        row["accuracy_drop_points"] = 100.0 * (base["accuracy"] - row["accuracy"])
        for key in ("file_bytes", "params", "macs", "arena_bytes", "flash_bytes",
                    "counter_median", "energy_uj"):
            a, b = base.get(key), row.get(key)
            row.setdefault("vs_baseline", {})[key] = b / a if a and b is not None else None
    return rows


def cell(row: dict[str, Any], key: str) -> str:
    if key == "counter":
        kind = row.get("counter_kind")
        return f"{row['counter_median']:,.0f} {kind}" if kind else "n/a"
    v = row.get(key)
    if v is None:
        return "n/a"
    if key == "zero_fraction":
        return f"{v:.1%}"
    if key == "accuracy":
        return f"{v:.2%}" if row["accuracy_metric"] == "top-1" else f"AUC {v:.4f}"
    if key == "accuracy_drop_points":
        return f"{v:+.2f}"
    if key == "energy_uj":
        return f"{v:.3f}" + (" (modeled)" if row.get("energy_modeled") else " (measured)")
    if key == "device_vs_tflm":
        return "every sample" if v else f"{len(row['differing_samples'])} differ"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)

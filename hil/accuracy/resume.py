"""Evaluations kept in the results store, a chunk of samples per row, so an
interrupted evaluation resumes where it stopped and the nightly can track
accuracy like any other figure. A row's record carries the chunk's
`accuracy` (Evaluation.to_dict) beside the usual case figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from hil.accuracy.dataset import Dataset
from hil.accuracy.evaluate import Evaluation, evaluate, merge_records
from hil.case.model_case import ModelCase
from hil.device.protocol import Device
from hil.errors import HilError
from hil.model.file import ModelFile
from hil.results.recorder import Recorder, result_row

CHUNK_SAMPLES = 60


def _test_name(model: ModelFile, ds: Dataset) -> str:
    return f"hil eval {model.name} on {ds.name}"


def stored_chunks(
    recorder: Recorder, model: ModelFile, ds: Dataset, board: str, build_id: str
) -> list[dict[str, Any]]:
    """Accuracy records of earlier chunks of this evaluation: same model
    bytes, same dataset, same board and firmware build."""
    fingerprint = ds.whole_fingerprint or ds.fingerprint()
    out = []
    for row in recorder.store.rows(model=model.name):
        acc = (row.get("record") or {}).get("accuracy")
        if (
            acc
            and row.get("model_sha256") == model.sha256
            and row.get("board") == board
            and row.get("firmware_build_id") == build_id
            and acc.get("dataset_fingerprint") == fingerprint
        ):
            out.append(acc)
    return out


def store_evaluation(
    recorder: Recorder, ev: Evaluation, dut: Device, test: str
) -> dict[str, Any]:
    """One row: the case's usual figures, plus the accuracy record (figures
    per source and per-sample scores); returns the accuracy record."""
    assert ev.case is not None
    accuracy = {**ev.to_dict(), "outputs_bit_exact": ev.case.passed}
    instance = dut.resolution.instance or dut.board.name
    # the per-sample scores say what the vectors would, shorter
    record = replace(
        ev.case.record(test=test, instance=instance), accuracy=accuracy, vectors=()
    )
    recorder.add(result_row(record, ModelCase(ev.model.path, vectors=0), instance, recorder.run))
    return accuracy


def evaluate_resumable(
    dut: Device,
    model_path: Path,
    ds: Dataset,
    recorder: Recorder,
    *,
    resume: bool,
    chunk: int = CHUNK_SAMPLES,
    on_progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, Any], int]:
    """The merged record of every chunk (earlier ones from the store when
    resuming), and how many samples were taken from the store."""
    if chunk < 1:
        raise HilError(f"chunk of {chunk} samples: expected at least 1")
    model = ModelFile(model_path)
    earlier = stored_chunks(recorder, model, ds, dut.board.name, dut.build_id) if resume else []
    done: set[int] = set()
    parts = []
    for acc in earlier:  # a chunk stored twice (two resumed runs) counts once
        idx = set(acc["per_sample"]["index"])
        if not idx & done:
            done |= idx
            parts.append(acc)
    wanted = {s.index for s in ds.samples}
    parts = [p for p in parts if set(p["per_sample"]["index"]) <= wanted]
    done = {i for p in parts for i in p["per_sample"]["index"]}
    todo = [s for s in ds.samples if s.index not in done]
    reused = len(ds) - len(todo)
    recorder.expect((len(todo) + chunk - 1) // chunk)
    for start in range(0, len(todo), chunk):
        part = Dataset(ds.name, ds.source, todo[start : start + chunk], ds.num_classes,
                        ds.class_names, ds.shard, ds.whole_fingerprint or ds.fingerprint())

        def progress(n: int, total: int, base: int = start) -> None:
            if on_progress:
                on_progress(reused + base + n, len(ds))

        ev: Evaluation = evaluate(dut, model_path, part, on_progress=progress, **kwargs)
        parts.append(store_evaluation(recorder, ev, dut, _test_name(model, ds)))
    recorder.finish_run()
    merged = merge_records(parts)
    merged["outputs_bit_exact"] = all(p.get("outputs_bit_exact", True) for p in parts)
    return merged, reused

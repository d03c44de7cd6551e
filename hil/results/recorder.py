"""Write each finished case to the results store, and the run's lifecycle
(opened, cases expected, finished): what the pytest plugin and `hil run
--store` call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hil.case.model_case import ModelCase
from hil.case.record import CaseRecord, DeviceFacts
from hil.paths import git_revision
from hil.results.engines import is_postgres
from hil.results.record import (
    RunContext,
    error_record,
    new_run_id,
    now,
    row_from_error,
    row_from_record,
)
from hil.results.regressions import Finding, board_thresholds, judge, pick_baseline
from hil.results.runs import RunState, incomplete_since_last_complete
from hil.results.store import ResultStore


def new_run(run_id: str | None = None) -> RunContext:
    return RunContext(run_id or new_run_id(), git_revision())


def _describe_errors(errors: Sequence[BaseException]) -> str:
    return "; ".join(
        f"attempt {n}: {type(e).__name__}: {e}".replace("\n", " ")[:400]
        for n, e in enumerate(errors, 1)
    )


def result_row(
    record: CaseRecord,
    case: ModelCase,
    instance: str,
    run: RunContext,
    earlier: Sequence[BaseException] = (),
) -> dict[str, Any]:
    """The row of a case that gave a result. After infrastructure errors on
    earlier attempts the record is `retried` (a pass is `flaky`) and the row
    keeps those errors; `record` itself is left as it is."""
    if earlier:
        record = retried(record, earlier)
    row = row_from_record(record, case, run, instance)
    if earlier:
        row["error"] = _describe_errors(earlier)
    return row


def retried(record: CaseRecord, earlier: Sequence[BaseException]) -> CaseRecord:
    """The record as it is stored and reported after `earlier` failed attempts."""
    return record.retried([f"{type(e).__name__}: {e}" for e in earlier])


def error_row(
    exc: BaseException,
    case: ModelCase,
    device: DeviceFacts,
    instance: str,
    test: str | None,
    run: RunContext,
    earlier: Sequence[BaseException] = (),
) -> dict[str, Any]:
    """The row of a case that ended in an error instead of a result."""
    record = error_record(exc, case, device, test)
    if earlier:
        record = replace(record, attempts=len(earlier) + 1)
    row = row_from_error(record, case, run, instance)
    if earlier:
        row["error"] = f"{row['error']} (after {_describe_errors(earlier)})"
    return row


class Recorder:
    """One per process; opens the store on first use. Every process of a run
    (xdist controller and workers) shares its RunContext."""

    def __init__(self, path: str | Path, run: RunContext | str | None = None) -> None:
        self.path = path if is_postgres(path) else Path(path)  # a URL is not a path
        self.run = run if isinstance(run, RunContext) else new_run(run)
        self._store: ResultStore | None = None

    @property
    def store(self) -> ResultStore:
        if self._store is None:
            self._store = ResultStore(self.path)
        return self._store

    # -- the run -----------------------------------------------------------------

    def open_run(self) -> list[tuple[dict[str, Any], RunState]]:
        """Record the run as started; returns the earlier runs that are
        incomplete (since the last complete one), for a warning."""
        runs = self.store.runs()
        self.store.open_run(self.run.run_row())
        return incomplete_since_last_complete(runs, exclude=self.run.run_id)

    def expect(self, cases: int) -> None:
        self.store.set_expected(self.run.run_id, cases)

    def skipped(self) -> None:
        self.store.add_skipped(self.run.run_id)

    def interrupted(self, what: str) -> None:
        self.store.add_interrupted(self.run.run_id, what)

    def finish_run(self) -> None:
        self.store.finish_run(self.run.run_id, now())

    # -- rows ----------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> int:
        return self.store.add(row, self.run.run_row())

    def result(self, record: CaseRecord, case: ModelCase, instance: str) -> int:
        return self.add(result_row(record, case, instance, self.run))

    def error(
        self,
        exc: BaseException,
        case: ModelCase,
        device: DeviceFacts,
        instance: str,
        test: str | None,
    ) -> int:
        return self.add(error_row(exc, case, device, instance, test, self.run))

    def judge(self, row: dict[str, Any], baseline_run: str | None) -> Finding:
        """`row` (of this run) against its baseline among the earlier runs:
        last-green if `baseline_run` is None, else that run's row."""
        order = [r["run_id"] for r in self.store.runs()]
        mine = order.index(self.run.run_id) if self.run.run_id in order else len(order)
        before = set(order[:mine])
        pool = [
            r
            for r in self.store.rows(model=row["model_name"])
            if r["run_id"] in before or r["run_id"] == baseline_run
        ]
        base, note = pick_baseline(row, pool, baseline_run)
        return judge(row, base, board_thresholds(row["board"]), note)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

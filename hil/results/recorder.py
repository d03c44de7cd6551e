"""Write each finished case to the results store, and the run's lifecycle
(opened, cases expected, finished): what the pytest plugin and `hil run
--store` call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.case.model_case import ModelCase
from hil.device.protocol import Device
from hil.errors import HilError
from hil.paths import git_revision
from hil.results.engines import is_postgres
from hil.results.record import (
    RunContext,
    engine_of,
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
    record: dict[str, Any],
    case: ModelCase,
    dut: Device,
    instance: str,
    run: RunContext,
    earlier: Sequence[BaseException] = (),
) -> dict[str, Any]:
    """The row of a case that gave a result; after infrastructure errors on
    earlier attempts, a pass is `flaky` and the row keeps those errors."""
    if earlier:  # the record (JSON report, row's record column) says so too
        record["attempts"] = len(earlier) + 1
        record["earlier_errors"] = [f"{type(e).__name__}: {e}" for e in earlier]
        if record["status"] == "pass":
            record["status"] = "flaky"
    row = row_from_record(record, case, run, instance, engine_of(dut))
    if earlier:
        row["attempts"] = len(earlier) + 1
        row["error"] = _describe_errors(earlier)
    return row


def error_row(
    exc: BaseException,
    case: ModelCase,
    dut: Device,
    instance: str,
    test: str | None,
    run: RunContext,
    earlier: Sequence[BaseException] = (),
) -> dict[str, Any]:
    """The row of a case that ended in an error instead of a result."""
    res = dut.resolution
    try:
        build_id: str | None = dut.build_id
    except HilError:  # the device never answered
        build_id = dut.image.build_id if dut.image else None
    row = row_from_error(
        exc,
        case,
        run,
        board=res.board.name,
        instance=instance,
        backend=res.backend,
        target=dut.description,
        firmware_build_id=build_id,
        engine=engine_of(dut),
        test=test,
        firmware_variant=dut.variant,
        firmware_cflags=" ".join(dut.cflags),
        transport_used=dut.transport_used,
    )
    if earlier:
        row["attempts"] = len(earlier) + 1
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

    def result(self, record: dict[str, Any], case: ModelCase, dut: Device, instance: str) -> int:
        return self.add(result_row(record, case, dut, instance, self.run))

    def error(
        self, exc: BaseException, case: ModelCase, dut: Device, instance: str, test: str | None
    ) -> int:
        return self.add(error_row(exc, case, dut, instance, test, self.run))

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

"""Case records as a results store holds them, oldest run first, for the
reports (hil report, --hil-html trends): read-only, without the store's schema
checks, from a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hil.case.record import CaseRecord, RecordError
from hil.errors import HilError
from hil.results.engines import describe, is_postgres, open_engine


class StoreReadError(HilError):
    """A results store cannot be read."""


CASES_SQL = (
    "SELECT x.run_id, x.time, x.instance, x.status, x.record "
    "FROM results x JOIN runs r ON r.run_id = x.run_id "
    "ORDER BY r.started, {run_order}, x.id"
)


@dataclass(frozen=True)
class RunCase:
    """A case record and the run it belongs to (as a store or a JSON report has it)."""

    run_id: str
    time: str | None  # when the case (or the report holding it) was recorded
    record: CaseRecord


def stored_cases(location: Path | str) -> list[RunCase]:
    """Every case record in the store, oldest run first."""
    if is_postgres(location):
        return _from_postgres(str(location))
    return _from_store(Path(location))


def _from_store(path: Path) -> list[RunCase]:
    # Read-only, without the store's schema checks: a report never writes.
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(CASES_SQL.format(run_order="r.rowid")).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreReadError(f"{path}: cannot read the results store: {exc}") from exc
    return _cases(rows)


def _from_postgres(url: str) -> list[RunCase]:
    engine = open_engine(url)  # StoreError (a HilError) names the store
    try:
        rows = [tuple(r.values()) for r in engine.query(CASES_SQL)]
    except engine.errors as exc:
        raise StoreReadError(f"{describe(url)}: cannot read the results store: {exc}") from exc
    finally:
        engine.close()
    return _cases(rows)


def _cases(rows: list[Any]) -> list[RunCase]:
    cases = []
    for run_id, time, instance, status, record in rows:
        try:
            case = CaseRecord.from_json(json.loads(record) if record else {"status": status})
        except (json.JSONDecodeError, RecordError) as exc:
            raise StoreReadError(f"run {run_id}: {exc}") from exc
        case = replace(case, status=status, instance=case.instance or instance)
        cases.append(RunCase(str(run_id), None if time is None else str(time), case))
    return cases

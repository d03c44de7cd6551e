"""Case records as a results store holds them, oldest run first, for the
reports (hil report, --hil-html trends): read-only, without the store's schema
checks, from a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from hil.errors import HilError
from hil.results.engines import describe, is_postgres, open_engine


class StoreReadError(HilError):
    """A results store cannot be read."""


CASES_SQL = (
    "SELECT x.run_id, x.time, x.instance, x.status, x.record "
    "FROM results x JOIN runs r ON r.run_id = x.run_id "
    "ORDER BY r.started, {run_order}, x.id"
)



def stored_cases(location: Path | str) -> list[dict[str, Any]]:
    """Every case record in the store, each with its "run_id", "time" and "status"."""
    if is_postgres(location):
        return _from_postgres(str(location))
    return _from_store(Path(location))


def _from_store(path: Path) -> list[dict[str, Any]]:
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


def _from_postgres(url: str) -> list[dict[str, Any]]:
    engine = open_engine(url)  # StoreError (a HilError) names the store
    try:
        rows = [tuple(r.values()) for r in engine.query(CASES_SQL)]
    except engine.errors as exc:
        raise StoreReadError(f"{describe(url)}: cannot read the results store: {exc}") from exc
    finally:
        engine.close()
    return _cases(rows)


def _cases(rows: list[Any]) -> list[dict[str, Any]]:
    cases = []
    for run_id, time, instance, status, record in rows:
        case = json.loads(record) if record else {}
        case.update(run_id=run_id, time=time, status=status)
        case.setdefault("instance", instance)
        case.setdefault("case", case.get("model", {}).get("path", "?"))
        cases.append(case)
    return cases

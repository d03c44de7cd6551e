"""The results store: SQLite in WAL mode (a file, the default) or PostgreSQL
(a postgresql:// URL), one row per case per instance, written as each case
finishes. Several processes (xdist workers, hosts) may write at once: each row
is its own short transaction, and writers wait for each other instead of
failing. A crashed run leaves every committed row. The schema is versioned by
numbered migrations (hil/results/migrations.py), applied on open."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hil.results.engines import Engine, StoreError, describe, is_postgres, open_engine
from hil.results.migrations import SCHEMA_VERSION, migrate, stored_version

__all__ = ["SCHEMA_VERSION", "STATUSES", "ResultStore", "StoreError"]

STATUSES = ("pass", "mismatch", "device-fault", "link-error", "timeout", "flaky", "error")

ROW_FIELDS = (
    "run_id", "time", "git_revision", "test", "board", "instance", "backend", "target",
    "firmware_build_id", "firmware_variant", "firmware_cflags", "engine", "engine_version",
    "model_name", "model_sha256", "vector_seed", "vector_count", "vector_files", "agreement",
    "counter_kind", "counter_method", "counter_min", "counter_median", "counter_p90",
    "counter_max", "flash_bytes", "static_ram_bytes", "footprint", "arena_bytes",
    "stack_bytes", "energy_uj", "reference_versions", "status", "attempts", "error", "record",
    "transport_used",
)  # fmt: skip
RUN_FIELDS = ("run_id", "started", "git_revision", "host", "pid", "pid_started", "command")
JSON_FIELDS = ("vector_files", "agreement", "footprint", "reference_versions", "record")


class ResultStore:
    """`with ResultStore(path_or_url) as store: store.add(row)`.

    `read_only=True` (the commands that only read) opens the store as it is:
    no migration, no write; `schema_version` then says what it is at, and a
    store older than SCHEMA_VERSION is read as it is."""

    def __init__(self, location: str | Path, *, read_only: bool = False) -> None:
        self.path = location if is_postgres(location) else Path(location)
        self.read_only = read_only
        self.engine = open_engine(location, read_only=read_only)
        try:
            if read_only:
                self.schema_version = stored_version(self.engine, str(location))
                if self.schema_version == 0:
                    raise StoreError(f"{describe(location)} is not a results store (no runs table)")
                return
            migrate(self.engine, str(location))
            self.schema_version = SCHEMA_VERSION
        except self.engine.errors as exc:
            self.engine.close()
            raise StoreError(f"results store {describe(location)}: {exc}") from exc
        except BaseException:
            self.engine.close()
            raise

    @property
    def older_schema(self) -> bool:
        """Opened read-only at a schema version older than this hil's."""
        return self.schema_version < SCHEMA_VERSION

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        """One write transaction (SQLite: the write lock taken up front)."""
        if self.read_only:
            raise StoreError(f"results store {describe(self.path)} was opened read-only")
        try:
            with self.engine.transaction() as engine:
                yield engine
        except self.engine.errors as exc:
            raise StoreError(f"results store {describe(self.path)}: {exc}") from exc

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------

    def open_run(self, run: Mapping[str, Any]) -> None:
        """Record a run as it starts (its process, to tell later whether it died)."""
        with self.transaction() as conn:
            _insert_run(conn, run)

    def set_expected(self, run_id: str, cases: int) -> None:
        """How many cases the run collected (every xdist worker says the same)."""
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET expected = ? WHERE run_id = ?", (cases, run_id))

    def add_skipped(self, run_id: str) -> None:
        """A collected case was skipped: the run expects one row fewer."""
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET skipped = skipped + 1 WHERE run_id = ?", (run_id,))

    def add_interrupted(self, run_id: str, what: str) -> None:
        """A case was cut short (its xdist worker died): the run is incomplete."""
        with self.transaction() as conn:
            found = conn.scalar(
                "SELECT interrupted FROM runs WHERE run_id = ? {for_update}", (run_id,)
            )
            cases = json.loads(found) if found else []
            conn.execute(
                "UPDATE runs SET interrupted = ? WHERE run_id = ?",
                (json.dumps([*cases, what]), run_id),
            )

    def finish_run(self, run_id: str, when: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET finished = ? WHERE run_id = ?", (when, run_id))

    def add(self, row: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> int:
        """Insert one case's row (and its run, if not opened yet); committed at once."""
        if row.get("status") not in STATUSES:
            raise StoreError(f"status {row.get('status')!r} is not one of {', '.join(STATUSES)}")
        values = [
            json.dumps(row.get(f), default=str)
            if f in JSON_FIELDS and row.get(f) is not None
            else row.get(f)
            for f in ROW_FIELDS
        ]
        values[ROW_FIELDS.index("attempts")] = row.get("attempts") or 1
        run = dict(run or {})
        run.setdefault("started", row["time"])
        run.update(run_id=row["run_id"], git_revision=row.get("git_revision"))
        with self.transaction() as conn:
            _insert_run(conn, run)
            cur = conn.execute(
                f"INSERT INTO results ({', '.join(ROW_FIELDS)}) "
                f"VALUES ({', '.join('?' for _ in ROW_FIELDS)}) {{returning_id}}",
                values,
            )
            return conn.lastrowid(cur)

    def set_baseline(self, name: str, run_id: str, when: str) -> str | None:
        """Name run `run_id` as baseline `name`; returns the run it named before."""
        with self.transaction() as conn:
            if conn.scalar("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)) is None:
                raise StoreError(
                    f"{describe(self.path)}: no run {run_id!r} (`hil results list` shows them)"
                )
            old = conn.scalar("SELECT run_id FROM baselines WHERE name = ? {for_update}", (name,))
            conn.execute("{upsert_baseline}", (name, run_id, when))
        return str(old) if old else None

    # -- reading ---------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, with its rows counted by status and its instances."""
        runs = self.engine.query(
            "SELECT r.*, COUNT(x.id) AS cases, "
            "SUM(CASE WHEN x.status = 'pass' THEN 1 ELSE 0 END) AS passed, "
            "SUM(CASE WHEN x.status = 'flaky' THEN 1 ELSE 0 END) AS flaky, "
            "{instances} AS instances "
            "FROM runs r LEFT JOIN results x ON x.run_id = r.run_id "
            "GROUP BY r.run_id ORDER BY r.started, {run_order}"
        )
        for run in runs:
            run.pop("seq", None)  # PostgreSQL's order of runs, SQLite's rowid
            for key in ("passed", "flaky"):
                run[key] = int(run[key]) if run[key] is not None else None
        return runs

    def rows(self, run_id: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """Rows (JSON fields decoded), oldest first; of one run, or of one model
        (by name), if given."""
        where, params = [], []
        if run_id:
            where.append("x.run_id = ?")
            params.append(run_id)
        if model:
            where.append("x.model_name = ?")
            params.append(model)
        sql = (
            "SELECT x.* FROM results x JOIN runs r ON r.run_id = x.run_id"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY r.started, {run_order}, x.id"
        )
        return [_decode(r) for r in self.engine.query(sql, params)]

    def baselines(self) -> list[dict[str, Any]]:
        """Named baselines, by name, with their run's start and git revision."""
        return self.engine.query(
            "SELECT b.name, b.run_id, b.created, r.started, r.git_revision "
            "FROM baselines b JOIN runs r ON r.run_id = b.run_id ORDER BY b.name"
        )


def _insert_run(conn: Engine, run: Mapping[str, Any]) -> None:
    conn.execute(
        f"{{insert_ignore}} INTO runs ({', '.join(RUN_FIELDS)}) "
        f"VALUES ({', '.join('?' for _ in RUN_FIELDS)}) {{on_conflict_ignore}}",
        tuple(run.get(k) for k in RUN_FIELDS),
    )


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for f in JSON_FIELDS:
        if isinstance(row.get(f), str):
            row[f] = json.loads(row[f])
    return row

"""The results store: SQLite in WAL mode, one row per case per instance,
written as each case finishes. Several processes (xdist workers) may write at
once: each row is its own short transaction, and writers wait for each other
(busy timeout) instead of failing. A crashed run leaves every committed row.
The schema is versioned (PRAGMA user_version) and created on first use."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from hil.errors import HilError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
STATUSES = ("pass", "mismatch", "device-fault", "link-error", "timeout", "flaky", "error")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    started       TEXT NOT NULL,
    git_revision  TEXT,
    host          TEXT,
    pid           INTEGER,  -- the pytest (xdist controller) or hil process
    pid_started   INTEGER,  -- its start time (Linux clock ticks): tells a reused pid apart
    command       TEXT,
    expected      INTEGER,  -- cases collected (tests using check_model), NULL if not known
    skipped       INTEGER NOT NULL DEFAULT 0,  -- of those, skipped (they add no row)
    finished      TEXT,     -- set when the session ends (NULL: running, or it died)
    interrupted   TEXT      -- JSON list: cases whose xdist worker died running them
);
CREATE TABLE IF NOT EXISTS baselines (
    name     TEXT PRIMARY KEY,
    run_id   TEXT NOT NULL REFERENCES runs(run_id),
    created  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id              TEXT NOT NULL REFERENCES runs(run_id),
    time                TEXT NOT NULL,
    git_revision        TEXT,
    test                TEXT,
    board               TEXT NOT NULL,
    instance            TEXT NOT NULL,
    backend             TEXT,
    target              TEXT,
    firmware_build_id   TEXT,
    firmware_variant    TEXT,
    firmware_cflags     TEXT,     -- extra compiler flags (--hil-cflags), "" for none
    engine              TEXT,
    engine_version      TEXT,
    model_name          TEXT NOT NULL,
    model_sha256        TEXT,
    vector_seed         INTEGER,
    vector_count        INTEGER,
    vector_files        TEXT,     -- JSON list of input files
    agreement           TEXT,     -- JSON: reference -> {matched, total, max_abs_diff, ...}
    counter_kind        TEXT,     -- instructions | cycles | ticks | device_timer_us
    counter_method      TEXT,
    counter_min         REAL,
    counter_median      REAL,
    counter_p90         REAL,
    counter_max         REAL,
    flash_bytes         INTEGER,
    static_ram_bytes    INTEGER,
    footprint           TEXT,     -- JSON
    arena_bytes         INTEGER,
    stack_bytes         INTEGER,  -- painted-stack high-water mark in inference
    energy_uj           REAL,     -- per inference (NULL: not measured)
    reference_versions  TEXT,     -- JSON: reference -> version
    status              TEXT NOT NULL CHECK (status IN
        ('pass', 'mismatch', 'device-fault', 'link-error', 'timeout', 'flaky', 'error')),
    attempts            INTEGER NOT NULL DEFAULT 1,  -- > 1: retried after infrastructure errors
    error               TEXT,     -- the error, or a flaky case's earlier errors
    record              TEXT NOT NULL  -- the full per-case record (JSON)
);
CREATE INDEX IF NOT EXISTS results_by_key ON results (instance, model_name, run_id);
CREATE INDEX IF NOT EXISTS results_by_run ON results (run_id);
"""

ROW_FIELDS = (
    "run_id", "time", "git_revision", "test", "board", "instance", "backend", "target",
    "firmware_build_id", "firmware_variant", "firmware_cflags", "engine", "engine_version",
    "model_name", "model_sha256", "vector_seed", "vector_count", "vector_files", "agreement",
    "counter_kind", "counter_method", "counter_min", "counter_median", "counter_p90",
    "counter_max", "flash_bytes", "static_ram_bytes", "footprint", "arena_bytes",
    "stack_bytes", "energy_uj", "reference_versions", "status", "attempts", "error", "record",
)  # fmt: skip
RUN_FIELDS = ("run_id", "started", "git_revision", "host", "pid", "pid_started", "command")
JSON_FIELDS = ("vector_files", "agreement", "footprint", "reference_versions", "record")


class StoreError(HilError):
    """The results store cannot be opened, or was written by a newer hil."""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"{path}: cannot switch the store to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint, never torn
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class ResultStore:
    """`with ResultStore(path) as store: store.add(row)`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.conn = _connect(self.path)
            self._ensure_schema()
        except sqlite3.Error as exc:
            raise StoreError(f"results store {self.path}: {exc}") from exc

    def _ensure_schema(self) -> None:
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {version} is newer than this hil's "
                    f"({SCHEMA_VERSION}); upgrade hil"
                )
            if version < SCHEMA_VERSION:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front (waiting out others)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

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
            found = conn.execute(
                "SELECT interrupted FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            cases = json.loads(found[0]) if found and found[0] else []
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
                f"VALUES ({', '.join('?' for _ in ROW_FIELDS)})",
                values,
            )
        return int(cur.lastrowid or 0)

    def set_baseline(self, name: str, run_id: str, when: str) -> str | None:
        """Name run `run_id` as baseline `name`; returns the run it named before."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"{self.path}: no run {run_id!r} (`hil results list` shows them)")
            old = conn.execute("SELECT run_id FROM baselines WHERE name = ?", (name,)).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO baselines (name, run_id, created) VALUES (?, ?, ?)",
                (name, run_id, when),
            )
        return str(old[0]) if old else None

    # -- reading ---------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, with its rows counted by status and its instances."""
        with closing(self.conn.cursor()) as cur:
            runs = cur.execute(
                "SELECT r.*, COUNT(x.id) AS cases, "
                "SUM(x.status = 'pass') AS passed, "
                "SUM(x.status = 'flaky') AS flaky, "
                "GROUP_CONCAT(DISTINCT x.instance) AS instances "
                "FROM runs r LEFT JOIN results x ON x.run_id = r.run_id "
                "GROUP BY r.run_id ORDER BY r.started, r.rowid"
            ).fetchall()
        return [dict(r) for r in runs]

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
            + " ORDER BY r.started, r.rowid, x.id"
        )
        with closing(self.conn.cursor()) as cur:
            fetched = cur.execute(sql, params).fetchall()
        return [_decode(dict(r)) for r in fetched]

    def baselines(self) -> list[dict[str, Any]]:
        """Named baselines, by name, with their run's start and git revision."""
        with closing(self.conn.cursor()) as cur:
            found = cur.execute(
                "SELECT b.name, b.run_id, b.created, r.started, r.git_revision "
                "FROM baselines b JOIN runs r ON r.run_id = b.run_id ORDER BY b.name"
            ).fetchall()
        return [dict(b) for b in found]


def _insert_run(conn: sqlite3.Connection, run: Mapping[str, Any]) -> None:
    conn.execute(
        f"INSERT OR IGNORE INTO runs ({', '.join(RUN_FIELDS)}) "
        f"VALUES ({', '.join('?' for _ in RUN_FIELDS)})",
        tuple(run.get(k) for k in RUN_FIELDS),
    )


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for f in JSON_FIELDS:
        if isinstance(row.get(f), str):
            row[f] = json.loads(row[f])
    return row

"""Numbered schema migrations of the results store, for both engines. A store
records each migration it has had in `schema_migrations`; opening a store
applies the missing ones in order, in one transaction, so a store is always at
one version. Stores made before this table existed (SQLite, user_version 1)
have had migration 1."""

from __future__ import annotations

from datetime import datetime, timezone

from hil.results.engines import Engine, PostgresEngine, SqliteEngine, StoreError, describe

MIGRATION_1 = """
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
CREATE INDEX IF NOT EXISTS results_by_run ON results (run_id)
"""

# `hil history MODEL` and rows(model=...) select by model across instances.
MIGRATION_2 = "CREATE INDEX IF NOT EXISTS results_by_model ON results (model_name, id)"

# What carried a case's bytes: "memory" (the debug port) or "serial" (the
# UART); NULL in rows stored before hil had a choice, which were serial.
MIGRATION_3 = "ALTER TABLE results ADD COLUMN transport_used TEXT"

MIGRATIONS: dict[int, str] = {1: MIGRATION_1, 2: MIGRATION_2, 3: MIGRATION_3}
SCHEMA_VERSION = max(MIGRATIONS)

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied TEXT NOT NULL)"
)


def migrate(engine: Engine, where: str) -> int:
    """Bring the store to SCHEMA_VERSION; returns the version it was at (0: new)."""
    with engine.transaction():
        engine.lock_schema()
        if isinstance(engine, SqliteEngine):
            _refuse_newer(engine.user_version(), where)
        if not engine.table_exists("schema_migrations"):
            engine.run_ddl(MIGRATIONS_TABLE)
            if engine.table_exists("runs"):  # made by migration 1 before it was numbered
                _record(engine, 1)
        applied = {int(r["version"]) for r in engine.query("SELECT version FROM schema_migrations")}
        before = max(applied, default=0)
        _refuse_newer(before, where)
        for version, ddl in sorted(MIGRATIONS.items()):
            if version not in applied:
                for statement in engine.ddl(ddl):
                    engine.run_ddl(statement)
                _record(engine, version)
        if isinstance(engine, SqliteEngine):  # an older hil reads this one
            engine.run_ddl(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return before


def stored_version(engine: Engine, where: str) -> int:
    """The schema version a store is at, read without writing anything (0:
    not a results store); StoreError if a newer hil wrote it."""
    if engine.table_exists("schema_migrations"):
        found = engine.scalar("SELECT MAX(version) FROM schema_migrations")
        version = int(found or 0)
    else:  # made before migrations were numbered: migration 1, if anything
        version = 1 if engine.table_exists("runs") else 0
    if isinstance(engine, SqliteEngine):
        version = max(version, engine.user_version())
    _refuse_newer(version, where)
    return version


def _refuse_newer(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{describe(where)}: schema version {version} is newer than this hil's "
            f"({SCHEMA_VERSION}); upgrade hil"
        )


def _record(engine: Engine, version: int) -> None:
    engine.execute(
        "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)",
        (version, datetime.now(timezone.utc).isoformat(timespec="seconds")),
    )


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresEngine", "migrate", "stored_version"]

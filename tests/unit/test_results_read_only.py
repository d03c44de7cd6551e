"""Commands that only read a results store (`hil results list`, `regressions`,
`hil history`, `hil baseline list`) open it read-only: a store of an older
schema is neither migrated nor written, and they say it is older."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from hil.cli import main
from hil.results.migrations import MIGRATION_1, SCHEMA_VERSION
from hil.results.store import ResultStore, StoreError


def old_store(path: Path) -> Path:
    """A store as hil wrote it before migrations were numbered: migration 1's
    tables, user_version 1, no schema_migrations, one run with one row."""
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATION_1)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO runs (run_id, started, git_revision, host, expected, finished) "
        "VALUES ('run-01', '2025-01-01T02:00:00+0000', 'abc', 'h', 1, '2025-01-01T03:00:00+0000')"
    )
    conn.execute(
        "INSERT INTO results (run_id, time, board, instance, model_name, status, record, "
        "counter_kind, counter_median) VALUES ('run-01', '2025-01-01T02:10:00+0000', "
        "'corstone300', 'a300', 'hello', 'pass', '{\"case\": \"hello\", \"status\": \"pass\"}', "
        "'instructions', 5000)"
    )
    conn.commit()
    conn.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_listing_an_older_store_leaves_it_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = old_store(tmp_path / "old.db")
    before = digest(db)
    assert main(["results", "list", str(db)]) == 0
    out, err = capsys.readouterr()
    assert "run-01" in out
    assert f"schema version 1, older than this hil's {SCHEMA_VERSION}" in err
    assert "not upgraded" in err and "\n" not in err.strip()
    assert main(["history", "hello", "--store", str(db)]) == 0
    assert "5,000" in capsys.readouterr().out
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]  # no -wal, no -shm left
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "schema_migrations" not in tables


def test_a_read_only_store_refuses_writes(tmp_path: Path) -> None:
    db = old_store(tmp_path / "old.db")
    with ResultStore(db, read_only=True) as store:
        assert (store.schema_version, store.older_schema) == (1, True)
        assert [r["run_id"] for r in store.runs()] == ["run-01"]
        with pytest.raises(StoreError, match="opened read-only"):
            store.finish_run("run-01", "now")
    with ResultStore(db) as store:  # a writer upgrades it, as before
        assert store.schema_version == SCHEMA_VERSION
    with ResultStore(db, read_only=True) as store:
        assert not store.older_schema


def test_a_file_that_is_not_a_store_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert main(["results", "list", str(other)]) == 2
    out = capsys.readouterr().out
    assert "is not a results store (no runs table)" in out and out.count("\n") == 1

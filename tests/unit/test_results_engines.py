"""The results store on both engines: SQLite (a file) and PostgreSQL (a
throwaway cluster on loopback): the same rows, queries, migrations and
concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from hil.cli import main
from hil.results.migrations import MIGRATION_1, SCHEMA_VERSION
from hil.results.store import ROW_FIELDS, ResultStore, StoreError
from tests.unit.test_results_store import add, make_row


@pytest.fixture
def location(store_location: str) -> str:
    return store_location


def test_rows_runs_and_baselines_read_back_the_same(location: str) -> None:
    with ResultStore(location) as store:
        add(store, make_row("run-01", median=5000.5))
        add(store, make_row("run-01", instance="b300", status="mismatch", matched=90))
        add(store, make_row("run-02"))
        runs = store.runs()
        assert [(r["run_id"], r["cases"], r["passed"], r["flaky"]) for r in runs] == [
            ("run-01", 2, 1, 0),
            ("run-02", 1, 1, 0),
        ]
        assert sorted(runs[0]["instances"].split(",")) == ["a300", "b300"]
        rows = store.rows(run_id="run-01")
        assert [r["status"] for r in rows] == ["pass", "mismatch"]
        assert rows[0]["counter_median"] == 5000.5  # a double, not PostgreSQL's 4-byte REAL
        assert rows[1]["agreement"]["tflm"]["matched"] == 90
        assert store.set_baseline("rel", "run-01", "now") is None
        assert store.set_baseline("rel", "run-02", "later") == "run-01"
        assert [(b["name"], b["run_id"]) for b in store.baselines()] == [("rel", "run-02")]
        store.add_interrupted("run-02", "case-a")
        store.add_interrupted("run-02", "case-b")
        assert store.runs()[1]["interrupted"] == '["case-a", "case-b"]'
        with pytest.raises(StoreError, match="no run 'nope'"):
            store.set_baseline("x", "nope", "now")


def test_results_commands_take_the_store_url(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ResultStore(location) as store:
        add(store, make_row("run-01"))
        add(store, make_row("run-02", median=9000.0))
    assert main(["results", "list", location]) == 0
    assert "run-02" in capsys.readouterr().out
    assert main(["results", "regressions", location]) == 1  # 9000 vs 5000 instructions
    assert "hello_world_int8" in capsys.readouterr().out


def _writer(location: str, worker: int, rows: int) -> None:
    with ResultStore(location) as store:  # every writer also races to create the schema
        for i in range(rows):
            add(store, make_row("run-07", instance=f"inst{worker}", model=f"m{i}"))
            store.add_interrupted("run-07", f"w{worker}-{i}")  # read-modify-write of one row


def test_four_concurrent_writers_lose_and_duplicate_nothing(location: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(location, w, 30)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with ResultStore(location) as store:
        rows = store.rows()
        pairs = [(r["instance"], r["model_name"]) for r in rows]
        assert len(pairs) == 120 and set(pairs) == {
            (f"inst{w}", f"m{i}") for w in range(4) for i in range(30)
        }
        (run,) = store.runs()
        interrupted = json.loads(run["interrupted"])
        assert sorted(interrupted) == sorted(f"w{w}-{i}" for w in range(4) for i in range(30))


def _make_version_1_store(location: str) -> None:
    """A store as hil wrote it before numbered migrations: today's DDL, SQLite's
    user_version 1, no schema_migrations table."""
    statements = [s for s in MIGRATION_1.split(";") if s.strip()]
    if location.startswith("postgresql://"):
        import psycopg

        from hil.results.engines import PostgresEngine

        ddl = PostgresEngine.ddl(PostgresEngine.__new__(PostgresEngine), MIGRATION_1)
        with psycopg.connect(location, autocommit=True) as conn:
            for statement in ddl:
                conn.execute(statement)  # type: ignore[call-overload]
            conn.execute("INSERT INTO runs (run_id, started) VALUES ('old', '2025-01-01')")
        return
    with sqlite3.connect(location) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO runs (run_id, started) VALUES ('old', '2025-01-01')")
        conn.execute("PRAGMA user_version = 1")


def test_a_version_1_store_is_upgraded(location: str) -> None:
    _make_version_1_store(location)
    with ResultStore(location) as store:
        versions = store.engine.query("SELECT version FROM schema_migrations ORDER BY version")
        assert [v["version"] for v in versions] == list(range(1, SCHEMA_VERSION + 1))
        assert [r["run_id"] for r in store.runs()] == ["old"]  # kept
        add(store, make_row("run-02"))
        indexes = (
            store.engine.query("SELECT name FROM sqlite_master WHERE type = 'index'")
            if store.engine.name == "sqlite"
            else store.engine.query("SELECT indexname AS name FROM pg_indexes")
        )
        assert "results_by_model" in {i["name"] for i in indexes}  # migration 2 ran
    with ResultStore(location) as store:  # opening again applies nothing twice
        assert store.engine.scalar("SELECT COUNT(*) FROM schema_migrations") == SCHEMA_VERSION


def test_a_store_from_a_newer_hil_is_refused(location: str) -> None:
    with ResultStore(location) as store, store.transaction() as conn:
        conn.execute("INSERT INTO schema_migrations (version, applied) VALUES (?, 'x')", (99,))
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        ResultStore(location)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match=re.escape("results store postgresql://hil:***@127.0.0.1:1/x")):
        ResultStore("postgresql://hil:secret@127.0.0.1:1/x")


def test_report_sources_read_either_engine(location: str) -> None:
    """`hil report` and `--hil-html` trends read the store's records, oldest run first."""
    from hil.reports.sources import load_sources

    with ResultStore(location) as store:
        add(store, make_row("run-01"))
        add(store, make_row("run-02", instance="b300", status="mismatch"))
    data = load_sources([location])
    assert data.runs == ["run-01", "run-02"]
    assert [(c.record.instance, c.record.status) for c in data.latest] == [("b300", "mismatch")]
    assert data.sources == [location]


def _project(tmp_path: Path, location: str) -> tuple[Path, str]:
    """A project whose [tool.hil] names the store: a URL as it is, a SQLite
    file relative to the project root. Returns the root and the store as hil
    should open it."""
    root = tmp_path / "proj"
    root.mkdir()
    store = location if location.startswith("postgresql://") else "results/r.db"
    (root / "pyproject.toml").write_text(f'[tool.hil]\nstore = "{store}"\n')
    return root, store if "://" in store else str(root / store)


def test_results_commands_read_the_store_from_tool_hil(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from hil import config as hil_config

    root, store_at = _project(tmp_path, location)
    with ResultStore(store_at) as store:
        add(store, make_row("run-01"))
        add(store, make_row("run-02", median=9000.0))
    monkeypatch.chdir(root)
    monkeypatch.delenv("HIL_STORE", raising=False)
    try:
        assert main(["results", "list"]) == 0
        assert "run-02" in capsys.readouterr().out
        assert main(["results", "regressions"]) == 1
        assert "REGRESSION" in capsys.readouterr().out
        assert main(["results", "report", "--html", str(tmp_path / "r.html")]) == 0
        assert "(1 regression)" in " ".join(capsys.readouterr().out.split())
        assert (tmp_path / "r.html").is_file()
        assert main(["baseline", "set", "rel", "run-01"]) == 0
        assert main(["baseline", "list"]) == 0
        assert "run-01" in capsys.readouterr().out
        assert main(["history", "hello_world_int8"]) == 0
        assert "9,000" in capsys.readouterr().out  # run-02's median
    finally:
        hil_config.deactivate()
    with ResultStore(store_at) as store:
        assert [(b["name"], b["run_id"]) for b in store.baselines()] == [("rel", "run-01")]


def test_pytest_writes_to_the_store_named_in_tool_hil(location: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    root, store_at = _project(tmp_path, location)
    (root / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:labgrid", "-p", "no:cacheprovider", "-q"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with ResultStore(store_at) as store:
        (run,) = store.runs()
    assert run["finished"] and run["cases"] == 0


# Written by hil at 7839976 (schema 1: PRAGMA user_version, no
# schema_migrations; the last release before numbered migrations) with three
# rows in two runs and a baseline `rel` -> run-01.
PREVIOUS_RELEASE_STORE = Path(__file__).parents[1] / "data" / "results" / "store-v1.db"


def test_a_store_written_by_the_previous_release_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(PREVIOUS_RELEASE_STORE, path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    with ResultStore(path) as store:
        versions = store.engine.query("SELECT version FROM schema_migrations ORDER BY version")
        assert [v["version"] for v in versions] == list(range(1, SCHEMA_VERSION + 1))
        assert [(r["run_id"], r["cases"]) for r in store.runs()] == [("run-01", 2), ("run-02", 1)]
        assert [(b["name"], b["run_id"]) for b in store.baselines()] == [("rel", "run-01")]
        assert [r["counter_median"] for r in store.rows()] == [5000.0, 5000.0, 5100.0]
        add(store, make_row("run-03"))
    assert main(["results", "regressions", str(path), "--baseline", "rel"]) == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_at_the_previous_migration_is_upgraded(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made by this hil's own migrations stopped one short, then opened by the full set."""
    from hil.results import migrations
    from hil.results import store as store_module

    previous = SCHEMA_VERSION - 1
    monkeypatch.setattr(migrations, "MIGRATIONS",
                        {v: d for v, d in migrations.MIGRATIONS.items() if v <= previous})
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", previous)  # fmt: skip
    # The last migration added transport_used: the older hil did not write it.
    monkeypatch.setattr(
        store_module, "ROW_FIELDS", tuple(f for f in ROW_FIELDS if f != "transport_used")
    )
    with ResultStore(location) as store:
        add(store, make_row("run-01"))
        assert store.engine.scalar("SELECT MAX(version) FROM schema_migrations") == previous
    monkeypatch.undo()
    with ResultStore(location) as store:
        assert store.engine.scalar("SELECT MAX(version) FROM schema_migrations") == SCHEMA_VERSION
        add(store, {**make_row("run-02"), "transport_used": "memory"})
        rows = store.rows()
        assert [r["run_id"] for r in rows] == ["run-01", "run-02"]
        assert [r["transport_used"] for r in rows] == [None, "memory"]

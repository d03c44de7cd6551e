"""The two databases a results store can live in: SQLite (a file, the
embedded default) and PostgreSQL (a `postgresql://` URL, for farms of several
hosts). The store writes its SQL once, with `?` placeholders and `{name}`
fragments; each engine fills them in for its own dialect."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from hil.errors import HilError

BUSY_TIMEOUT_MS = 60_000
PG_SCHEMES = ("postgresql://", "postgres://")
# Any id will do, as long as it is the same in every writer: it serialises the
# schema check and the migrations across hosts.
PG_SCHEMA_LOCK = 0x68696C


class StoreError(HilError):
    """The results store cannot be opened, or was written by a newer hil."""


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(PG_SCHEMES)


def describe(location: str | Path) -> str:
    """The store's name for messages, without a password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", str(location))


class Engine:
    """One open connection, in autocommit between explicit transactions."""

    name = ""
    conn: Any
    fragments: ClassVar[dict[str, str]] = {}
    errors: tuple[type[BaseException], ...] = ()

    def sql(self, text: str) -> str:
        return text.format(**self.fragments)

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def query(self, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.execute(text, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def lastrowid(self, cur: Any) -> int:
        raise NotImplementedError

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        found = self.execute(text, params).fetchone()
        return found[0] if found else None

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        raise NotImplementedError
        yield self

    def ddl(self, sqlite_ddl: str) -> list[str]:
        """Statements of a migration, written in SQLite's types."""
        return [s for s in sqlite_ddl.split(";") if s.strip()]

    def run_ddl(self, statement: str) -> None:
        self.conn.execute(statement)  # as written: DDL has braces in comments, no parameters

    def lock_schema(self) -> None:
        """Serialise schema checks and migrations across writers (inside a transaction)."""

    def table_exists(self, table: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteEngine(Engine):
    """WAL mode; every write transaction takes the write lock up front
    (BEGIN IMMEDIATE) and waits out others (busy timeout)."""

    name = "sqlite"
    fragments: ClassVar[dict[str, str]] = {
        "insert_ignore": "INSERT OR IGNORE",
        "on_conflict_ignore": "",
        "upsert_baseline": "INSERT OR REPLACE INTO baselines (name, run_id, created) "
        "VALUES (?, ?, ?)",
        "instances": "GROUP_CONCAT(DISTINCT x.instance)",
        "run_order": "r.rowid",
        "for_update": "",
        "returning_id": "",
    }
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, read_only: bool = False) -> None:
        if read_only:  # neither the file, its journal mode nor its folder is touched
            self.conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
            )
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: cannot switch the store to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint, never torn
        conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.sql(text), tuple(params))

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def lastrowid(self, cur: Any) -> int:
        return int(cur.lastrowid or 0)

    def table_exists(self, table: str) -> bool:
        return bool(
            self.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        )

    def user_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def close(self) -> None:
        self.conn.close()


class PostgresEngine(Engine):
    """READ COMMITTED transactions; rows that two writers may both insert
    (a run's row) use ON CONFLICT, read-modify-write takes the row lock."""

    name = "postgresql"
    fragments: ClassVar[dict[str, str]] = {
        "insert_ignore": "INSERT",
        "on_conflict_ignore": "ON CONFLICT DO NOTHING",
        "upsert_baseline": "INSERT INTO baselines (name, run_id, created) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET run_id = EXCLUDED.run_id, created = EXCLUDED.created",
        "instances": "STRING_AGG(DISTINCT x.instance, ',')",
        "run_order": "r.seq",
        "for_update": "FOR UPDATE",
        "returning_id": "RETURNING id",
    }

    def __init__(self, url: str, read_only: bool = False) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError(
                f"{describe(url)}: a PostgreSQL store needs psycopg: "
                "pip install 'hil[postgres]'"
            ) from exc
        self.errors = (psycopg.Error,)
        self.conn = psycopg.connect(url, autocommit=True, connect_timeout=30)
        if read_only:  # the server refuses any write on this session
            self.conn.execute("SET default_transaction_read_only = on")

    def sql(self, text: str) -> str:
        # The store's SQL has no literal % or ?, so this is a plain swap.
        return super().sql(text).replace("?", "%s")

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.sql(text), tuple(params))

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        with self.conn.transaction():
            yield self

    def lastrowid(self, cur: Any) -> int:
        found = cur.fetchone()
        return int(found[0]) if found else 0

    def ddl(self, sqlite_ddl: str) -> list[str]:
        """SQLite's types in PostgreSQL's words: 64-bit integers and doubles
        (REAL is 4 bytes in PostgreSQL), identity keys; runs get an order."""
        text = sqlite_ddl.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        text = re.sub(r"\bINTEGER\b", "BIGINT", text)
        text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
        text = text.replace(
            "run_id        TEXT PRIMARY KEY,", "run_id TEXT PRIMARY KEY, seq BIGSERIAL,"
        )
        return super().ddl(text)

    def lock_schema(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (PG_SCHEMA_LOCK,))  # until COMMIT

    def table_exists(self, table: str) -> bool:
        return self.scalar("SELECT to_regclass(?)", (table,)) is not None

    def close(self) -> None:
        self.conn.close()


def open_engine(location: str | Path, read_only: bool = False) -> Engine:
    try:
        if is_postgres(location):
            return PostgresEngine(str(location), read_only)
        return SqliteEngine(Path(location), read_only)
    except StoreError:
        raise
    except Exception as exc:  # sqlite3.Error, psycopg.Error: the reason is in the text
        raise StoreError(f"results store {describe(location)}: {exc}") from exc

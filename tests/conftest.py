"""Shared helpers for hil's own tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("HIL_MODELS", REPO.parent / "shared" / "models"))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not (MODELS / "hello_world_int8.tflite").is_file():
        pytest.fail(f"shared models not found in {MODELS}; set HIL_MODELS", pytrace=False)
    return MODELS


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on loopback for the session (tests/pg_cluster.py)."""
    from tests.pg_cluster import pg_cluster

    with pg_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new results store: a SQLite file, then a fresh database in the
    session's PostgreSQL cluster (not skipped: setup installs the server)."""
    if request.param == "sqlite":
        return str(tmp_path / "r.db")
    from tests.pg_cluster import fresh_database

    server = request.getfixturevalue("pg_server")
    return fresh_database(server, f"t_{uuid.uuid4().hex[:12]}")


# hil's own suite tests the harness on hil's engine unless a test asks for
# another (tests/e2e/test_tflm_engine.py); children inherit the setting. A
# user's default is TFLM with CMSIS-NN wherever a TFLM tree is found.
os.environ.setdefault("HIL_ENGINE", "hil")

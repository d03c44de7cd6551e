"""Fixtures for the end-to-end tests (real firmware on QEMU)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.device.dut import Dut
from tests.e2e.helpers import BOARDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tflm_matrix: every shared model under both TFLM engines (run with -m)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
    # The full TFLM matrix takes long: it runs when asked for (-m tflm_matrix).
    if "tflm_matrix" not in (config.getoption("markexpr") or ""):
        kept = [i for i in items if i.get_closest_marker("tflm_matrix") is None]
        dropped = [i for i in items if i.get_closest_marker("tflm_matrix") is not None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept


@pytest.fixture
def process_tag(monkeypatch: pytest.MonkeyPatch) -> str:
    tag = f"hil-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("HIL_PROCESS_TAG", tag)
    return tag


@pytest.fixture(scope="session", params=BOARDS)
def test_dut(request: pytest.FixtureRequest) -> Iterator[Dut]:
    """A device running the test firmware (debug commands compiled in)."""
    with Dut(resolve(load_board(request.param)), variant="test") as dut:
        yield dut

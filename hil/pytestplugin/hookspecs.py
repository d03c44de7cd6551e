"""hil's own pytest hook, added by hil.pytestplugin.plugin's pytest_addhooks:
the plugins that need the run's boards (the engine per board, the energy
options that differ under a rack) get them once they are resolved."""

from __future__ import annotations

import pytest

from hil.boards.resolve import Resolution


def pytest_hil_boards(config: pytest.Config, resolutions: list[Resolution], rack: bool) -> None:
    """Called at the end of pytest_configure with the run's resolved boards
    (`rack`: selected from a rack file). Raise HilError for bad settings."""

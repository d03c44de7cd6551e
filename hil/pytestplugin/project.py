"""The project's [tool.hil] settings under pytest: the project root is pytest's
rootdir; its board and port folders, default boards, store and timeout apply
unless an option says otherwise (hil.config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hil import config as hil_config
from hil.pytestplugin.options import hil_group, usage_errors

DEFAULT_TIMEOUT = 10.0


def add_options(group: Any) -> None:
    group.addoption(
        "--hil-board-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of the project's board files, searched before hil's own (repeatable; "
        "also HIL_BOARD_PATH and [tool.hil] board_path)",
    )
    group.addoption(
        "--hil-port-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of the project's firmware ports, searched before hil's own "
        "(repeatable; also HIL_PORT_PATH and [tool.hil] port_path)",
    )


def configure(config: pytest.Config) -> hil_config.Project:
    """Activate the project at pytest's rootdir and fill in the defaults its
    [tool.hil] table sets for options left unset. Raises HilError."""
    project = hil_config.activate(
        hil_config.load_project(Path(config.rootpath)),
        board_path=tuple(Path(p) for p in config.getoption("hil_board_path")),
        port_path=tuple(Path(p) for p in config.getoption("hil_port_path")),
    )
    option = config.option
    if not option.board and project.boards and not getattr(option, "hil_rack", None):
        option.board = list(project.boards)
    if getattr(option, "hil_store", None) is None and project.store:
        store = project.store
        is_url = "://" in store
        option.hil_store = store if is_url else str(project.root / store)
    if option.hil_timeout is None:
        option.hil_timeout = project.timeout or DEFAULT_TIMEOUT
    return project


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """First: [tool.hil] gives the board folders the other plugins load from."""
    with usage_errors():
        configure(config)

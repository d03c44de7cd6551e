"""The project's [tool.hil] settings for the `hil` command: the project is the
nearest pyproject.toml upward from the current directory (hil.config)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hil import config as hil_config
from hil.errors import HilError

DEFAULT_TIMEOUT = 10.0


def add_project_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--board-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of board files searched before hil's own (repeatable; also "
        "HIL_BOARD_PATH, [tool.hil] board_path)",
    )
    parser.add_argument(
        "--port-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of firmware ports searched before hil's own (repeatable; also "
        "HIL_PORT_PATH, [tool.hil] port_path)",
    )


def apply_project(args: argparse.Namespace) -> hil_config.Project:
    """Activate the project and fill the defaults it sets for unset options.
    Option folders are relative to the current directory, as typed."""
    project = hil_config.activate(
        hil_config.find_project(),
        board_path=tuple(Path(p).resolve() for p in args.board_path),
        port_path=tuple(Path(p).resolve() for p in args.port_path),
    )
    if hasattr(args, "board") and args.board is None and args.command in ("run", "compare-models"):
        if len(project.boards) != 1:
            where = f" ([tool.hil] board in {project.pyproject} names {len(project.boards)})"
            raise HilError(
                "--board is required" + (where if project.boards else "")
                + " (`hil boards` lists them)"
            )
        args.board = project.boards[0]
    if getattr(args, "timeout", "unset") is None:
        args.timeout = project.timeout or DEFAULT_TIMEOUT
    if getattr(args, "store", "unset") is None and project.store and args.command == "run":
        store = project.store
        args.store = store if "://" in store else str(project.root / store)
    model = getattr(args, "model", None)
    models = project.models
    named = isinstance(model, str) and not Path(model).exists()
    if named and models is not None and (models / str(model)).is_file():
        args.model = str(models / str(model))  # a model named from the models folder
    return project

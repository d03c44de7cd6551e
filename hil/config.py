"""A project's hil settings: the `[tool.hil]` table of its pyproject.toml.

The project root is pytest's rootdir under pytest, and the folder of the
nearest pyproject.toml above the current directory for the `hil` command.
Relative paths in the table, and relative model and input paths of model
cases, resolve against that root. docs/configuration.md lists every key."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.errors import HilError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BOARD_PATH_ENV = "HIL_BOARD_PATH"
PORT_PATH_ENV = "HIL_PORT_PATH"
MODELS_ENV = "HIL_MODELS"  # overrides [tool.hil] models


class ConfigError(HilError):
    """The project's [tool.hil] table is unreadable or has a wrong key."""


@dataclass(frozen=True)
class Project:
    root: Path
    pyproject: Path | None = None
    boards: tuple[str, ...] = ()  # default --board
    board_path: tuple[Path, ...] = ()
    port_path: tuple[Path, ...] = ()
    models: Path | None = None  # where relative model paths are also looked for
    store: str | None = None  # default --hil-store / --store
    timeout: float | None = None  # per-request timeout on the device link (s)
    tflm_dir: Path | None = None  # a TensorFlow Lite Micro source tree
    engine: str | None = None  # the default engine (checked where engines are known)

    def resolve(self, path: str | Path) -> Path:
        """A path from the project (a model, an input file): absolute as it is,
        else under the root, else under the models folder when it is there."""
        path = Path(path).expanduser()
        if path.is_absolute():
            return path
        under_root = self.root / path
        if not under_root.exists() and self.models is not None and (self.models / path).exists():
            return self.models / path
        return under_root


def _paths(table: dict[str, Any], key: str, where: str, root: Path) -> tuple[Path, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key}: expected a folder or a list of folders")
    return tuple(root / Path(v).expanduser() for v in value)


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}: {key}: expected {getattr(kind, '__name__', 'a number')}, "
                          f"got {value!r}")
    return value


KEYS = ("board", "board_path", "port_path", "models", "store", "timeout", "tflm_dir", "engine")


def load_project(root: Path) -> Project:
    """The settings in ROOT/pyproject.toml's [tool.hil] (none when absent)."""
    root = root.resolve()
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return Project(root, models=_env_models())
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from exc
    table = data.get("tool", {}).get("hil", {})
    where = f"{pyproject}: [tool.hil]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(KEYS)})")
    board = table.get("board", [])
    boards = [board] if isinstance(board, str) else board
    if not isinstance(boards, list) or not all(isinstance(b, str) for b in boards):
        raise ConfigError(f"{where}: board: expected a board name or a list of them")
    timeout = _typed(table, "timeout", (int, float), where)
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"{where}: timeout: expected seconds > 0, got {timeout!r}")
    table_models = _typed(table, "models", str, where)
    models = os.environ.get(MODELS_ENV) or table_models
    tflm = _typed(table, "tflm_dir", str, where)
    return Project(
        root=root,
        pyproject=pyproject,
        boards=tuple(boards),
        board_path=_paths(table, "board_path", where, root),
        port_path=_paths(table, "port_path", where, root),
        models=root / Path(models).expanduser() if models else None,
        store=_typed(table, "store", str, where),
        timeout=float(timeout) if timeout is not None else None,
        tflm_dir=root / Path(tflm).expanduser() if tflm else None,
        engine=_typed(table, "engine", str, where),
    )


def _env_models() -> Path | None:
    env = os.environ.get(MODELS_ENV)
    return Path(env).expanduser().resolve() if env else None


def find_project(start: Path | None = None) -> Project:
    """The project around START (default: the current directory): the nearest
    folder upward holding a pyproject.toml, else START itself."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return load_project(folder)
    return Project(start, models=_env_models())


@dataclass
class _State:
    project: Project | None = None
    board_path: tuple[Path, ...] = ()  # from an option (--hil-board-path, --board-path)
    port_path: tuple[Path, ...] = ()


_STATE = _State()


def activate(
    project: Project, board_path: tuple[Path, ...] = (), port_path: tuple[Path, ...] = ()
) -> Project:
    """Make PROJECT the one hil works for in this process (board and port
    lookup, path resolution); option paths come before every other."""
    _STATE.project = project
    _STATE.board_path = tuple(project.root / p for p in board_path)
    _STATE.port_path = tuple(project.root / p for p in port_path)
    return project


def deactivate() -> None:
    _STATE.project = None
    _STATE.board_path = _STATE.port_path = ()


def current() -> Project | None:
    return _STATE.project


def _env_paths(name: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in os.environ.get(name, "").split(os.pathsep) if p)


def board_path() -> list[Path]:
    """The project's board folders: option, then HIL_BOARD_PATH, then [tool.hil]."""
    project = _STATE.project.board_path if _STATE.project else ()
    return [*_STATE.board_path, *_env_paths(BOARD_PATH_ENV), *project]


def port_path() -> list[Path]:
    """The project's port folders: option, then HIL_PORT_PATH, then [tool.hil]."""
    project = _STATE.project.port_path if _STATE.project else ()
    return [*_STATE.port_path, *_env_paths(PORT_PATH_ENV), *project]


def resolve_case(case: Any) -> Any:
    """A ModelCase with its relative model, input and firmware paths resolved against the
    active project's root (unchanged when no project is active)."""
    project = _STATE.project
    if project is None:
        return case
    return dataclasses.replace(
        case,
        model=project.resolve(case.model),
        inputs=tuple(project.resolve(p) for p in case.inputs),
        firmware=project.resolve(case.firmware) if case.firmware is not None else None,
    )


def project_revision(root: Path | None = None) -> str | None:
    """The git commit of the project (the active one, or ROOT), if it is in git."""
    folder = root or (_STATE.project.root if _STATE.project else None)
    if folder is None:
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None

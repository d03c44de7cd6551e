"""Where hil finds its firmware sources, board files, firmware ports and caches.

Shipped files live in the repository's top-level firmware/ and boards/; a wheel
carries copies of them as package data (hil/_data/, put there by setup.py's
build step), found with importlib.resources. A project adds its own board
files and ports through search paths (hil.config); those come first."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from hil import config


def _checkout() -> Path | None:
    """The hil checkout this package runs from, if it runs from one."""
    root = Path(__file__).resolve().parent.parent
    if (root / "firmware" / "agent").is_dir() and (root / "boards").is_dir():
        return root
    return None


def project_root() -> Path:
    """The tree holding hil's firmware/ and boards/: HIL_HOME, the checkout,
    else the installed package's data."""
    env = os.environ.get("HIL_HOME")
    if env:
        return Path(env)
    return _checkout() or Path(str(resources.files("hil") / "_data"))


def checkout_root() -> Path | None:
    """hil's checkout (HIL_HOME, else the one this package runs from); None
    for an installed hil."""
    env = os.environ.get("HIL_HOME")
    return Path(env) if env else _checkout()


def firmware_dir() -> Path:
    return project_root() / "firmware"


def shipped_boards_dir() -> Path:
    env = os.environ.get("HIL_BOARDS")
    return Path(env) if env else project_root() / "boards"


def board_dirs() -> list[Path]:
    """Where board files are looked up, first match wins: the project's search
    path (option, HIL_BOARD_PATH, [tool.hil] board_path), then hil's own."""
    return [*config.board_path(), shipped_boards_dir()]


def boards_dir() -> Path:
    """hil's own board files (kept for callers that want one folder)."""
    return shipped_boards_dir()


def port_dirs() -> list[Path]:
    """Folders holding firmware ports, first match wins: the project's port
    search path, then hil's firmware/ports."""
    return [*config.port_path(), firmware_dir() / "ports"]


def cache_dir() -> Path:
    """HIL_CACHE; in a checkout its .hil-cache; installed, the per-user cache
    ($XDG_CACHE_HOME/hil, else ~/.cache/hil), never site-packages."""
    env = os.environ.get("HIL_CACHE")
    if env:
        return Path(env)
    home = os.environ.get("HIL_HOME") or _checkout()
    if home:
        return Path(home) / ".hil-cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hil"


def git_revision() -> str | None:
    """hil's own git commit, when it runs from a checkout."""
    return config.project_revision(project_root())

"""Where hil finds its firmware sources, board files and caches."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The hil checkout: HIL_HOME, else the directory above this package."""
    env = os.environ.get("HIL_HOME")
    return Path(env) if env else Path(__file__).resolve().parent.parent


def firmware_dir() -> Path:
    return project_root() / "firmware"


def boards_dir() -> Path:
    env = os.environ.get("HIL_BOARDS")
    return Path(env) if env else project_root() / "boards"


def cache_dir() -> Path:
    env = os.environ.get("HIL_CACHE")
    return Path(env) if env else project_root() / ".hil-cache"

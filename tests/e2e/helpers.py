"""Helpers for the end-to-end tests: run pytest or hil as a child process,
find QEMU processes a run left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARDS = ("corstone300", "mps2-an386")


def processes_tagged(tag: str) -> list[int]:
    """PIDs whose command line carries `tag` (hil puts it on every QEMU)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if tag.encode() in argv and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("HIL_CACHE", str(REPO / ".hil-cache"))
    return env


def run_child(
    args: list[str], cwd: Path, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=child_env(**env), capture_output=True, text=True, timeout=timeout
    )


def pytest_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]

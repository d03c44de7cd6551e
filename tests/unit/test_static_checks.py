"""mypy (pyproject.toml's [tool.mypy]) and ruff run with the test suite, so CI,
which runs the README's test command, runs them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command",
    [
        ("mypy",),  # the files and options are pyproject.toml's
        ("ruff", "check", "hil", "tests", "benchmarks"),
    ],
    ids=["mypy", "ruff"],
)
def test_static_check_is_clean(command: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"

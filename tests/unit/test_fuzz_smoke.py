"""A short fuzzing run of each libFuzzer harness, and every kept crash input
replayed (docs/fuzzing.md has the long runs)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.helpers import REPO

FUZZ = [sys.executable, str(REPO / "tools" / "fuzz.py")]


@pytest.mark.parametrize("harness", ["agent", "model"])
def test_fuzz_smoke(harness: str) -> None:
    proc = subprocess.run(
        [*FUZZ, "run", harness, "--seconds", "15"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = dict(item.split("=") for item in proc.stdout.split())
    assert stats["crashes"] == "0" and int(stats["number_of_executed_units"]) > 100


def test_kept_crash_inputs_no_longer_crash() -> None:
    proc = subprocess.run([*FUZZ, "replay"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr

"""A pyOCD board with no probe attached fails in seconds, naming what was
looked for and what was found (this machine has no probe)."""

from __future__ import annotations

import time

import pytest

from hil.boards.probes import list_probes
from tests.e2e.helpers import REPO, pytest_args, run_child


def test_example_suite_on_a_board_with_no_probe_fails_fast() -> None:
    if list_probes():
        pytest.skip("a debug probe is attached to this machine")
    started = time.monotonic()
    proc = run_child(pytest_args("examples", "--board=nucleo-l4r5zi"), cwd=REPO, timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert (
        "board nucleo-l4r5zi: no backend can run it: pyocd: no debug probe attached "
        "(looked for a probe for target stm32l4r5zitx from STMicroelectronics)"
    ) in proc.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"

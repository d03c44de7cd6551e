"""The MPS2 AN500 (Cortex-M7) and AN505 (Cortex-M33, TrustZone) boards: the
example suite passes on each, and a provoked BusFault is reported as one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.device.dut import Dut
from hil.errors import DeviceFaultError
from hil.link.protocol import DebugOp, FaultKind
from tests.e2e.helpers import REPO, processes_tagged, pytest_args, run_child

BOARDS = {"mps2-an500": "cortex-m7", "mps2-an505": "cortex-m33"}


@pytest.mark.parametrize("board", BOARDS)
def test_example_suite_passes(board: str, tmp_path: Path, process_tag: str) -> None:
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args("examples", f"--board={board}", f"--hil-report={report}", "-v"),
        cwd=REPO,
        HIL_PROCESS_TAG=process_tag,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"hil: {board} -> qemu {board} (first choice)" in proc.stdout
    (case,) = json.loads(report.read_text())["cases"]
    assert case["status"] == "pass" and case["backend"] == "qemu"
    tflm = case["aggregate"]["agreement"]["tflm"]
    assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
    assert case["aggregate"]["counter"]["kind"] == "instructions"
    assert processes_tagged(process_tag) == []


@pytest.mark.parametrize("board", BOARDS)
def test_a_bus_fault_is_reported(board: str) -> None:
    with Dut(resolve(load_board(board)), variant="test", timeout=2.0) as dut:
        assert dut.hello.core == BOARDS[board]
        # The loop of 2 * N instructions measures 2 * N under -icount: the
        # port's clock is QEMU's for this machine.
        cal = dut.session.calibrate(100_000)
        measured = dut.measure(cal.kind, cal.ticks)
        assert measured is not None and abs(measured.value - 200_000) < 200
        with pytest.raises(DeviceFaultError) as info:
            dut.session.debug(DebugOp.FAULT, FaultKind.BUS)
        assert re.search(
            r"BusFault at pc=0x[0-9a-f]{8} .*\(PRECISERR\|BFARVALID\)", str(info.value)
        )
        dut.restart()
        assert dut.hello.board == board

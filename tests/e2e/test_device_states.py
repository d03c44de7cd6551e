"""The device's states as its methods move it, and the "hil device" section
each test's report gets: state, link counters, and the backend's log."""

from __future__ import annotations

from pathlib import Path

from hil.device.dut import Dut
from hil.device.protocol import DeviceState
from hil.errors import DeviceFaultError, HilError
from hil.link.protocol import DebugOp, FaultKind
from hil.model.file import ModelFile
from tests.e2e.helpers import REPO, pytest_args, run_child


def test_states_follow_start_load_fault_and_reset(test_dut: Dut, models_dir: Path) -> None:
    dut = test_dut
    dut.restart()  # the session's device may have run other tests before
    assert dut.state is DeviceState.RESET
    dut.load(ModelFile(models_dir / "hello_world_int8.tflite"))
    assert dut.state is DeviceState.MODEL_LOADED
    before = dut.link_stats()["requests"]
    try:
        dut.session.debug(DebugOp.FAULT, FaultKind.HARD)
    except DeviceFaultError as exc:
        fault: HilError = exc
    else:
        raise AssertionError("the HardFault was not reported")
    assert dut.recover(fault)
    assert dut.state is DeviceState.RESET
    # The counters go on across the reset's new session.
    assert dut.link_stats()["requests"] > before


SUITE = """
from hil.link.protocol import DebugOp, FaultKind

def test_fault(dut):
    dut.session.debug(DebugOp.FAULT, FaultKind.HARD)
"""


def test_a_failed_test_reports_its_device(tmp_path: Path) -> None:
    suite = tmp_path / "test_state.py"
    suite.write_text(SUITE)
    proc = run_child(
        pytest_args(str(suite), "--board=mps2-an386", "--hil-firmware=test"), cwd=REPO
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    section = proc.stdout.split("Captured hil device call", 1)[1]
    assert "state: reset" in section
    assert "requests=" in section and "bytes_sent=" in section

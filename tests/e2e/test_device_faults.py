"""Device faults and hangs: each is reported with its registers (or its last
command), the target is reset, and the next case in the same session passes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.helpers import REPO, pytest_args, run_child

SUITE = """
import pytest
from pathlib import Path
from hil import ModelCase
from hil.link.protocol import DebugOp, FaultKind

CASE = ModelCase(Path({model!r}), vectors=3)
STEPS = [(kind, step) for kind in ("HARD", "MEMMANAGE", "BUS", "USAGE", "HANG")
         for step in ("trigger", "next")]

@pytest.mark.parametrize(("kind", "step"), STEPS)
def test_step(dut, check_model, kind, step):
    if step == "next":
        check_model(CASE)
    elif kind == "HANG":
        dut.session.debug(DebugOp.HANG, 0)
    else:
        dut.session.debug(DebugOp.FAULT, FaultKind[kind])
"""

EXPECTED = {
    "HARD": r"HardFault at pc=0x[0-9a-f]{8} lr=0x[0-9a-f]{8} .*CFSR=0x00010000 \(UNDEFINSTR\) "
    r"HFSR=0x40000000 \(FORCED\)",
    "MEMMANAGE": r"MemManage fault at pc=0xe0000000 .*\(IACCVIOL\)",
    "BUS": r"BusFault at pc=0x[0-9a-f]{8} .*\(PRECISERR\|BFARVALID\).* BFAR=0x[0-9a-f]{8}",
    "USAGE": r"UsageFault at pc=0x[0-9a-f]{8} .*\(UNDEFINSTR\) HFSR=0x00000000",
    "HANG": r"device hang: no valid response to DEBUG in \d+\.\d\d s \(\d+ attempts?: \d+ timed",
}


@pytest.mark.parametrize("board", ["corstone300", "mps2-an386"])
def test_each_fault_is_reported_and_the_next_case_passes(
    board: str, models_dir: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "test_faults.py"
    suite.write_text(SUITE.format(model=str(models_dir / "hello_world_int8.tflite")))
    junit = tmp_path / "junit.xml"
    proc = run_child(
        pytest_args(
            str(suite),
            f"--board={board}",
            "--hil-firmware=test",
            "--hil-timeout=1",
            f"--junitxml={junit}",
        ),
        cwd=REPO,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "5 failed, 5 passed" in proc.stdout
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    for kind, pattern in EXPECTED.items():
        trigger = cases[f"test_step[{board}-{kind}-trigger]"]
        failure = trigger.find("failure")
        assert failure is not None, f"{kind} trigger did not fail"
        assert re.search(pattern, failure.get("message", "")), (kind, failure.get("message"))
        props = {p.get("name"): p.get("value") for p in trigger.iter("property")}
        assert "hil_device_reset" in props
        assert cases[f"test_step[{board}-{kind}-next]"].find("failure") is None

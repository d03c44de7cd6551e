"""The Corstone-300 FVP backend end to end, with the FAKE FVP in tests/fakes
(QEMU mps3-an547 underneath, behind the FVP's command line and stdout): with
it on PATH the main job runs on "fvp"; without, it falls back to QEMU and says
so. Neither leaves a process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.helpers import REPO, child_env, pytest_args, run_child

FAKES = REPO / "tests" / "fakes"
FAKE_FVP = FAKES / "FVP_Corstone_SSE-300_Ethos-U55"


def processes_with_tag(tag: str) -> list[int]:
    """PIDs whose environment carries HIL_PROCESS_TAG=tag: every process a
    tagged run started (the fake FVP and its QEMU inherit it)."""
    needle = f"HIL_PROCESS_TAG={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def path_with_fake() -> str:
    return f"{FAKES}:{os.environ['PATH']}"


FVP_NAMES = (
    "FVP_Corstone_SSE-300_Ethos-U55",
    "FVP_Corstone_SSE-300_Ethos-U65",
    "FVP_Corstone_SSE-300",
)


def path_without_fvp() -> str:
    parts = os.environ["PATH"].split(os.pathsep)
    return os.pathsep.join(p for p in parts if not any((Path(p) / n).exists() for n in FVP_NAMES))


def test_the_fake_fvp_is_named_as_a_fake() -> None:
    head = FAKE_FVP.read_text()[:400]
    assert "FAKE" in head and "NOT Arm's" in head
    assert os.access(FAKE_FVP, os.X_OK)


def test_main_job_runs_on_the_fvp_when_one_is_on_path(tmp_path: Path, process_tag: str) -> None:
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args("examples", "--board=corstone300", f"--hil-report={report}", "-v"),
        cwd=REPO,
        PATH=path_with_fake(),
        HIL_FVP="",
        HIL_PROCESS_TAG=process_tag,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = (
        "hil: corstone300 -> fvp FVP_Corstone_SSE-300_Ethos-U55 "
        "(FVP_Corstone_SSE-300_Ethos-U55 found on PATH)"
    )
    assert header in proc.stdout
    (case,) = json.loads(report.read_text())["cases"]
    assert case["status"] == "pass" and case["backend"] == "fvp"
    tflm = case["aggregate"]["agreement"]["tflm"]
    assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
    # FVP counts are instruction-based at a nominal clock: ticks, never cycles.
    counter = case["aggregate"]["counter"]
    assert counter["kind"] == "ticks" and "not hardware cycles" in counter["method"]
    assert processes_with_tag(process_tag) == []


def test_without_an_fvp_it_falls_back_to_qemu(tmp_path: Path, process_tag: str) -> None:
    proc = run_child(
        pytest_args("examples", "--board=corstone300", "-v"),
        cwd=REPO,
        PATH=path_without_fvp(),
        HIL_FVP="",
        HIL_PROCESS_TAG=process_tag,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hil: corstone300 -> qemu mps3-an547 (no FVP on PATH)" in proc.stdout
    assert processes_with_tag(process_tag) == []


SLOW_TEST = """
import time

def test_uses_device_then_waits(dut):
    assert dut.hello.board
    print("DEVICE-UP", flush=True)
    time.sleep(120)
"""


def test_a_killed_run_takes_the_fvp_and_its_children_with_it(
    tmp_path: Path, process_tag: str
) -> None:
    (tmp_path / "test_slow.py").write_text(SLOW_TEST)
    run = subprocess.Popen(
        pytest_args(str(tmp_path / "test_slow.py"), "--board=corstone300", "-s"),
        cwd=REPO,
        env=child_env(HIL_PROCESS_TAG=process_tag, PATH=path_with_fake(), HIL_FVP=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if "DEVICE-UP" in line:
                break
        assert len(processes_with_tag(process_tag)) >= 2  # the fake FVP and its QEMU
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        run.kill()
    deadline = time.monotonic() + 10
    while processes_with_tag(process_tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_tag(process_tag) == []

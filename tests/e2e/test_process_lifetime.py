"""No QEMU process outlives hil: after a pass, a failure, Ctrl-C, or a kill."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.helpers import REPO, child_env, processes_tagged, pytest_args

SLOW_TEST = """
import time

def test_uses_device_then_waits(dut):
    assert dut.hello.board
    print("DEVICE-UP", flush=True)
    time.sleep(120)
"""

FAILING_TEST = """
def test_uses_device_then_fails(dut):
    assert dut.hello.board
    assert False, "deliberate failure"
"""


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def start_slow_run(tmp_path: Path, tag: str) -> subprocess.Popen[str]:
    (tmp_path / "test_slow.py").write_text(SLOW_TEST)
    return subprocess.Popen(
        pytest_args(str(tmp_path / "test_slow.py"), "--board=corstone300", "-s"),
        cwd=REPO,
        env=child_env(HIL_PROCESS_TAG=tag),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_failing_run_leaves_no_qemu(tmp_path: Path, process_tag: str) -> None:
    (tmp_path / "test_fail.py").write_text(FAILING_TEST)
    proc = subprocess.run(
        pytest_args(str(tmp_path / "test_fail.py"), "--board=mps2-an386"),
        cwd=REPO,
        env=child_env(HIL_PROCESS_TAG=process_tag),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "deliberate failure" in proc.stdout
    assert processes_tagged(process_tag) == []


def test_sigint_stops_qemu(tmp_path: Path, process_tag: str) -> None:
    run = start_slow_run(tmp_path, process_tag)
    try:
        assert wait_for(lambda: processes_tagged(process_tag)), "QEMU never started"
        assert run.stdout is not None
        for line in run.stdout:
            if "DEVICE-UP" in line:
                break
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=60)
        assert run.returncode != 0
        assert "KeyboardInterrupt" in out
    finally:
        run.kill()
    assert wait_for(lambda: not processes_tagged(process_tag), 10), processes_tagged(process_tag)


def test_killed_run_takes_qemu_with_it(tmp_path: Path, process_tag: str) -> None:
    run = start_slow_run(tmp_path, process_tag)
    try:
        assert wait_for(lambda: processes_tagged(process_tag)), "QEMU never started"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        run.kill()
    # The parent-death signal reaches QEMU even though pytest had no chance to clean up.
    assert wait_for(lambda: not processes_tagged(process_tag), 10), processes_tagged(process_tag)

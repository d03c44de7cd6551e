"""Cross-process instance locks: a second process waits, then fails naming the
holder; the kernel releases a lock whose holder is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hil.rack.lock import InstanceBusyError, InstanceLock

REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from hil.rack.lock import InstanceLock
    lock = InstanceLock(Path(sys.argv[1]), sys.argv[2])
    lock.acquire(timeout=5, worker="gw7")
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
    """
)


def start_holder(lock_dir: Path, name: str, seconds: float = 60) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), name, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_instance_times_out_naming_the_holder(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "a300")
    try:
        started = time.monotonic()
        with pytest.raises(InstanceBusyError) as err:
            InstanceLock(tmp_path, "a300").acquire(timeout=0.6)
        waited = time.monotonic() - started
        message = str(err.value)
        assert 0.5 <= waited < 5
        assert f"rack instance a300 is in use by pid {holder.pid} on {socket.gethostname()}" in (
            message
        )
        assert "since 20" in message and "xdist worker gw7" in message
        assert "waited 0.6 s (--hil-lock-timeout" in message
        # Another instance is free all the while.
        with InstanceLock(tmp_path, "a386").hold(timeout=0):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "a300")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lock = InstanceLock(tmp_path, "a300")
    lock.acquire(timeout=2)  # no stale lock: the kernel dropped it
    try:
        assert lock.holder() is not None and lock.holder()["pid"] == os.getpid()  # type: ignore[index]
    finally:
        lock.release()
    assert lock.holder() is None  # released: the file no longer names anyone


def test_a_waiter_gets_the_instance_when_the_holder_finishes(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "a300", seconds=0.5)
    try:
        with InstanceLock(tmp_path, "a300").hold(timeout=10) as lock:
            assert lock.held
        assert holder.wait(5) == 0
    finally:
        holder.kill()
        holder.wait()


def test_the_history_logs_each_hold_and_a_holder_that_died(tmp_path: Path) -> None:
    with InstanceLock(tmp_path, "a300").hold(timeout=1, worker="gw1", run="run-01"):
        pass
    holder = start_holder(tmp_path, "a300")
    os.kill(holder.pid, signal.SIGKILL)  # dies holding it: no release line
    holder.wait()
    with InstanceLock(tmp_path, "a300").hold(timeout=2, run="run-02") as lock:
        pass
    history = lock.history()
    events = [(h["event"], h["pid"], h["run"]) for h in history]
    me = os.getpid()
    assert events == [
        ("acquired", me, "run-01"),
        ("released", me, "run-01"),
        ("acquired", holder.pid, ""),
        ("acquired", me, "run-02"),
        ("released", me, "run-02"),
    ]
    assert history[0]["worker"] == "gw1" and history[0]["host"] == socket.gethostname()
    assert history[3]["previous_holder_died"]["pid"] == holder.pid
    assert "previous_holder_died" not in history[2]
    times = [h["time"] for h in history]
    assert times == sorted(times)

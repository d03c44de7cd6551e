"""Runs in the results store: opened, cases expected, skipped, finished; when a
run is complete, incomplete or still running; what a new run warns about."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hil.cli import main
from hil.results.record import RunContext
from hil.results.recorder import Recorder
from hil.results.runs import (
    incomplete_since_last_complete,
    process_alive,
    process_started,
    run_state,
)
from hil.results.store import ResultStore
from tests.unit.test_results_store import make_row

HOST = platform.node()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def run(run_id: str, **fields: Any) -> dict[str, Any]:
    base = {"run_id": run_id, "started": f"2025-01-01T00:00:{run_id[-2:]}+0000", "host": HOST}
    return {**base, "pid": os.getpid(), "pid_started": process_started(os.getpid()), **fields}


def test_states_of_runs() -> None:
    me = os.getpid()
    finished = "2025-01-01T03:00:00+0000"
    assert run_state(run("r01", finished=finished, cases=4, expected=4)).describe() == "complete"
    short = run_state(run("r02", finished=finished, cases=3, expected=4))
    assert (short.state, short.describe()) == ("incomplete", "incomplete (3 of 4 cases)")
    skipped = run_state(run("r03", finished=finished, cases=3, expected=4, skipped=1))
    assert skipped.state == "complete"  # the skipped case adds no row
    alive = run_state(run("r04", cases=1, expected=4))
    assert alive.describe() == f"running (1 of 4 cases; pid {me})"
    gone = dead_pid()
    died = run_state(run("r05", pid=gone, pid_started=None, cases=2, expected=4))
    assert died.describe() == f"incomplete (2 of 4 cases; never finished: pid {gone} is gone)"
    elsewhere = run_state(run("r06", host="lab-pc", cases=0, expected=None))
    assert elsewhere.describe() == "running (on lab-pc: cannot check from here)"


def test_a_reused_pid_is_not_the_run() -> None:
    started = process_started(os.getpid())
    if started is None:
        pytest.fail("no /proc/<pid>/stat on this system", pytrace=False)
    assert process_alive(os.getpid(), started)
    assert not process_alive(os.getpid(), started + 1)  # same pid, another process
    state = run_state(run("r07", pid_started=started + 1, cases=0, expected=1))
    assert state.state == "incomplete"


def test_a_new_run_warns_about_incomplete_runs_since_the_last_complete_one() -> None:
    finished = "2025-01-01T03:00:00+0000"
    runs = [
        run("r01", finished=finished, cases=1, expected=2),  # incomplete, before a complete one
        run("r02", finished=finished, cases=2, expected=2),
        run("r03", finished=finished, cases=1, expected=2),
        run("r04", pid=dead_pid(), pid_started=None, cases=0, expected=2),
        run("r05", cases=0, expected=2),  # running: this process
    ]
    found = incomplete_since_last_complete(runs, exclude="r05")
    assert [(r["run_id"], s.describe()) for r, s in found] == [
        ("r03", "incomplete (1 of 2 cases)"),
        ("r04", f"incomplete (0 of 2 cases; never finished: pid {runs[3]['pid']} is gone)"),
    ]


def test_the_recorder_keeps_the_run_lifecycle(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    first = Recorder(path, RunContext("r01", "abc", started="2025-01-01T00:00:01+0000"))
    assert first.open_run() == []
    first.expect(3)
    first.skipped()
    first.add(make_row("r01", model="m1"))
    (state,) = [run_state(r) for r in first.store.runs()]
    assert state.describe() == f"running (1 of 2 cases; pid {os.getpid()})"
    first.finish_run()
    first.close()
    second = Recorder(path, RunContext("r02", "abc", started="2025-01-01T00:00:02+0000"))
    ((earlier, why),) = second.open_run()
    assert earlier["run_id"] == "r01" and why.describe() == "incomplete (1 of 2 cases)"
    second.expect(1)
    second.add(make_row("r02"))
    second.finish_run()
    third = Recorder(path, RunContext("r03", "abc", started="2025-01-01T00:00:03+0000"))
    assert third.open_run() == []  # r02 was complete: r01 is old news
    with ResultStore(path) as store:
        (r1, r2, _r3) = store.runs()
    assert (r1["expected"], r1["skipped"], r1["cases"], r1["pid"]) == (3, 1, 1, os.getpid())
    assert r1["finished"] and r2["finished"]


def test_results_list_shows_each_runs_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path) as store:
        store.open_run(run("r01", pid=dead_pid(), pid_started=None))
        store.set_expected("r01", 2)
        store.add(make_row("r01"))
        store.open_run(run("r02"))
        store.set_expected("r02", 1)
        store.add(make_row("r02"))
        store.finish_run("r02", "2025-01-01T03:00:00+0000")
        store.open_run(run("r03"))
    assert main(["results", "list", str(path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if " r0" in line}
    assert "incomplete (1 of 2 cases; never finished: pid" in lines["r01"]
    assert "│ complete " in lines["r02"]
    assert f"running (pid {os.getpid()})" in lines["r03"]

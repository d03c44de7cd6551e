"""Whether a run in the store is complete, incomplete or still running.

A run is incomplete when it never finished (its process is gone: same host,
pid not alive) or when it finished with fewer rows than the cases it
collected (e.g. an xdist worker was killed mid-case)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPLETE, INCOMPLETE, RUNNING = "complete", "incomplete", "running"


def process_started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 overall


def process_alive(pid: int, started: int | None) -> bool:
    """Whether process `pid` exists and, if its start time is known, is the
    same process (not a later one given the same pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if started is None:
        return True
    now = process_started(pid)
    return now is None or now == started


@dataclass(frozen=True)
class RunState:
    state: str  # complete | incomplete | running
    rows: int
    expected: int | None  # cases the run collected, less those skipped
    detail: str = ""

    def describe(self) -> str:
        """complete / incomplete (3 of 4 cases) / running ..."""
        if self.state == COMPLETE:
            return COMPLETE
        counts = f"{self.rows} of {self.expected} cases" if self.expected is not None else ""
        inner = "; ".join(x for x in (counts, self.detail) if x)
        return f"{self.state} ({inner})" if inner else self.state


def run_state(
    run: dict[str, Any],
    host: str | None = None,
    alive: Callable[[int, int | None], bool] = process_alive,
) -> RunState:
    """The state of one `ResultStore.runs()` entry, seen from `host` (this one).
    A run with an interrupted case (its xdist worker died) is incomplete."""
    host = platform.node() if host is None else host
    rows = int(run.get("cases") or 0)
    expected = run.get("expected")
    if expected is not None:
        expected = max(int(expected) - int(run.get("skipped") or 0), 0)
    interrupted = json.loads(run["interrupted"]) if run.get("interrupted") else []
    cut = f"interrupted: {'; '.join(interrupted)}" if interrupted else ""
    if run.get("finished"):
        if interrupted or (expected is not None and rows < expected):
            return RunState(INCOMPLETE, rows, expected, cut)
        return RunState(COMPLETE, rows, expected)
    pid = run.get("pid")
    if pid is None:  # written by a hil that did not say (a bare store.add)
        return RunState(RUNNING, rows, expected, "not known whether it ended")
    if run.get("host") != host:
        return RunState(RUNNING, rows, expected, f"on {run.get('host')}: cannot check from here")
    if alive(int(pid), run.get("pid_started")):
        return RunState(RUNNING, rows, expected, f"pid {pid}")
    gone = f"never finished: pid {pid} is gone"
    return RunState(INCOMPLETE, rows, expected, "; ".join(x for x in (gone, cut) if x))


def incomplete_since_last_complete(
    runs: Sequence[dict[str, Any]], exclude: str = "", host: str | None = None
) -> list[tuple[dict[str, Any], RunState]]:
    """Incomplete runs started after the newest complete one (oldest first):
    what a new run warns about. Older ones stay listed by `hil results list`."""
    found: list[tuple[dict[str, Any], RunState]] = []
    for run in runs:
        if run["run_id"] == exclude:
            continue
        state = run_state(run, host)
        if state.state == COMPLETE:
            found = []
        elif state.state == INCOMPLETE:
            found.append((run, state))
    return found

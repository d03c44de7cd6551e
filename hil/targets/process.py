"""Child processes that cannot outlive hil, however hil ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import weakref
from collections.abc import Sequence
from pathlib import Path


def _die_with_parent_prefix() -> list[str]:
    # Linux delivers SIGKILL to the child when its parent dies, even by SIGKILL.
    # The death signal is set by util-linux's setpriv, which then execs the
    # command: a Python preexec_fn would run Python in a forked copy of a
    # process that has other threads (gRPC's, labgrid's), which can crash the
    # child before exec.
    if not sys.platform.startswith("linux"):
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


class ChildProcess:
    """A subprocess in its own session (a terminal's Ctrl-C reaches hil, which
    then stops it in order) that is killed when hil exits or dies."""

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            _die_with_parent_prefix() + self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _kill, self.proc, self._log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 2.0) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._finalizer()

    def output(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]


def _kill(proc: subprocess.Popen[bytes], log: object) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    close = getattr(log, "close", None)
    if close:
        close()


def process_tag() -> str:
    """A token put on every child's command line so tests can find strays."""
    return os.environ.get("HIL_PROCESS_TAG", f"hil-{os.getpid()}")

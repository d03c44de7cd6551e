"""Host references in a worker process of their own.

TFLM's host interpreter and LiteRT are C++ that trusts the model: a model
that slipped past hil's checks can crash them, and a crash inside hil's own
process would end the whole pytest session (no JUnit file, no stored
results). Each reference therefore runs in a child process; a crash there
becomes an error for that one case, naming the signal, and the session goes
on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from hil.errors import HilError
from hil.references.base import Reference, ReferenceUnavailable

# A reference that has not answered in this long is stuck, not slow: the
# largest shared model runs in well under a second on the host.
CALL_TIMEOUT_S = 300.0
START_TIMEOUT_S = 120.0


class ReferenceCrashed(HilError):
    """A host reference's worker process died or stopped answering."""


def describe_exit(code: int | None) -> str:
    """'signal 11 (SIGSEGV)' for a process killed by a signal, else its exit code."""
    if code is None:
        return "no answer"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"signal {-code} ({name})"
    return f"exit code {code}"


class IsolatedReference(Reference):
    """A reference whose every call runs in its worker process."""

    def __init__(self, kind: str, model: bytes, **options: Any) -> None:
        """Start the worker and hand it the model; `ready()` waits for it, so
        several references can start at once."""
        self.name = kind
        self._version: str = ""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # A fresh interpreter, not a fork of this one: pytest's process has
        # link and xdist threads whose held locks a fork would copy. The
        # worker's stdout is not the channel, so C code printing there
        # cannot corrupt it.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "hil.references.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send_conn = Connection(to_child_w, readable=False)
        self._recv_conn = Connection(from_child_r, writable=False)
        self._send(("init", (kind, model, options)))

    def ready(self) -> Reference:
        """Wait until the worker has loaded the model; ReferenceUnavailable
        when the reference refuses it or crashes on it."""
        if self._version:
            return self
        try:
            status, payload = self._receive("loading the model", START_TIMEOUT_S)
        except ReferenceCrashed as exc:
            raise ReferenceUnavailable(str(exc)) from exc
        if status != "ready":
            self.close()
            raise ReferenceUnavailable(str(payload))
        self._version, self.agreement = payload
        return self

    @property
    def version(self) -> str:
        return str(self._version)

    def _send(self, message: tuple[str, Any]) -> None:
        # A dead worker: the next receive says how it ended.
        with contextlib.suppress(BrokenPipeError, OSError):
            self._send_conn.send(message)

    def _receive(self, doing: str, timeout: float) -> tuple[str, Any]:
        try:
            if self._recv_conn.poll(timeout):
                reply: tuple[str, Any] = self._recv_conn.recv()
                return reply
        except (EOFError, OSError):
            pass
        try:
            self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise ReferenceCrashed(
                f"reference {self.name} gave no answer within {timeout:.0f} s while {doing}; "
                "its worker was stopped"
            ) from None
        detail = self._last_error_line()
        raise ReferenceCrashed(
            f"reference {self.name} crashed ({describe_exit(self._proc.returncode)}) "
            f"while {doing}{': ' + detail if detail else ''}"
        )

    def _last_error_line(self) -> str:
        if self._proc.stderr is None:
            return ""
        lines = self._proc.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:200] if lines else ""

    def _call(self, request: str, arg: Any, doing: str) -> Any:
        if self._proc.poll() is not None:
            raise ReferenceCrashed(
                f"reference {self.name} is no longer running "
                f"({describe_exit(self._proc.returncode)})"
            )
        self._send((request, arg))
        status, payload = self._receive(doing, CALL_TIMEOUT_S)
        if status == "error":
            raise ReferenceCrashed(f"reference {self.name} failed while {doing}: {payload}")
        return payload

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        outputs: list[np.ndarray] = self._call("run", list(inputs), "running an inference")
        return outputs

    def reset(self) -> None:
        self._call("reset", None, "resetting its state")

    def arena_used_bytes(self) -> int | None:
        used: int | None = self._call("arena", None, "reading its arena use")
        return used

    def close(self) -> None:
        if self._proc.poll() is None:
            self._send(("close", None))
            try:
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for conn in (self._send_conn, self._recv_conn):
            conn.close()
        if self._proc.stderr is not None:
            self._proc.stderr.close()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

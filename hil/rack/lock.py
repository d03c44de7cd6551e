"""One lock per rack instance, across processes and runs: an OS-level
fcntl.flock on a file in the lock directory, so the kernel releases it when the
holder exits or dies (even by SIGKILL). The holder writes who it is into the
file; a run that times out waiting names it. Each acquire and release is
appended to `<instance>.history` (JSON lines): the board's usage log."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hil.errors import HilError
from hil.paths import cache_dir

POLL_SECONDS = 0.2


class InstanceBusyError(HilError):
    """A rack instance stayed locked by another run for longer than the timeout."""


def default_lock_dir() -> Path:
    return cache_dir() / "locks"


def describe_holder(info: dict[str, Any] | None) -> str:
    if not info:
        return "an unknown holder (its lock file says nothing yet)"
    parts = [f"pid {info.get('pid', '?')} on {info.get('host', '?')}"]
    if info.get("since"):
        parts.append(f"since {info['since']}")
    if info.get("worker"):
        parts.append(f"xdist worker {info['worker']}")
    if info.get("command"):
        parts.append(f"running `{info['command']}`")
    return ", ".join(parts)


class InstanceLock:
    """`with InstanceLock(dir, "board-a").hold(timeout=60): ...`"""

    def __init__(self, directory: Path, instance: str) -> None:
        self.directory = Path(directory)
        self.instance = instance
        self.path = self.directory / f"{instance}.lock"
        self.history_path = self.directory / f"{instance}.history"
        self._fd: int | None = None
        self._info: dict[str, Any] = {}

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict[str, Any] | None:
        """Who the lock file says holds the instance (may be stale if nobody does)."""
        try:
            text = self.path.read_text()
        except OSError:
            return None
        try:
            info = json.loads(text)
        except ValueError:
            return None
        return info if isinstance(info, dict) else None

    def acquire(self, timeout: float, worker: str = "", run: str = "") -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise InstanceBusyError(
                        f"rack instance {self.instance} is in use by "
                        f"{describe_holder(self.holder())}; waited {timeout:g} s "
                        f"(--hil-lock-timeout; lock file {self.path})"
                    ) from None
                time.sleep(POLL_SECONDS)
        # A holder that released truncated the file: anything left is from one that died.
        died = self.holder()
        info = {
            "instance": self.instance,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "worker": worker,
            "run": run,
            "command": " ".join(
                os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)
            )[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        self._info = info
        extra = {"previous_holder_died": died} if died else {}
        self._log("acquired", extra)

    def release(self) -> None:
        if self._fd is None:
            return
        self._log("released")  # while still held: history intervals never overlap
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the holder's description goes with the lock
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _log(self, event: str, extra: dict[str, Any] | None = None) -> None:
        """Append one line to the instance's history; a log that cannot be
        written never costs the run its board."""
        entry = {
            "event": event,
            "time": round(time.time(), 6),
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **{k: self._info.get(k) for k in ("pid", "host", "worker", "run")},
            **(extra or {}),
        }
        with contextlib.suppress(OSError):
            fd = os.open(self.history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, (json.dumps(entry) + "\n").encode())  # one write: one whole line
            finally:
                os.close(fd)

    def history(self) -> list[dict[str, Any]]:
        """The instance's usage log, oldest first (unreadable lines skipped)."""
        try:
            lines = self.history_path.read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    @contextlib.contextmanager
    def hold(self, timeout: float, worker: str = "", run: str = "") -> Iterator[InstanceLock]:
        self.acquire(timeout, worker, run)
        try:
            yield self
        finally:
            self.release()

"""QEMU backend: the image runs under qemu-system-arm with UART0 on a TCP socket."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import serial

from hil.errors import LinkError, TargetError
from hil.link.urls import open_url
from hil.paths import cache_dir
from hil.targets.base import Target
from hil.targets.memory_link import gdb_args, memory_or_serial
from hil.targets.process import ChildProcess, process_tag

START_ATTEMPTS = 5
LISTEN_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QemuTarget(Target):
    child: ChildProcess | None = None
    link: serial.SerialBase | None = None
    #: "serial" or "memory" (asked for); `transport_used` says what runs.
    transport: str = "serial"
    transport_used: str = "serial"
    gdb_port: int | None = None
    memory_link: serial.SerialBase | None = None

    def command(self, port: int) -> list[str]:
        qemu = self.resolution.board.backend("qemu")
        shift = int(qemu.get("icount_shift", 5))
        return [
            self.resolution.executable,
            "-M",
            qemu["machine"],
            "-name",
            process_tag(),
            "-nographic",
            "-monitor",
            "none",
            # The VM waits for our connection, so no early output is lost.
            "-serial",
            f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
            # Deterministic: virtual time advances 2**shift ns per instruction.
            "-icount",
            f"shift={shift}",
            "-d",
            "guest_errors,unimp",
            "-kernel",
            str(self.image.elf),
        ] + (gdb_args(self.gdb_port) if self.gdb_port else [])

    def start(self) -> serial.SerialBase:
        self.stop()
        errors = []
        # A rack instance may pin the UART's port, e.g. for a serial server in front.
        fixed = int(self.resolution.board.backend("qemu").get("uart_port", 0))
        for _ in range(START_ATTEMPTS):
            port = fixed or _free_port()
            self.gdb_port = _free_port() if self.transport == "memory" else None
            log_path = cache_dir() / "logs" / f"qemu-{self.image.board}-{port}.log"
            self.child = ChildProcess(self.command(port), log_path)
            try:
                self.link = self._connect(port)
                if self.transport != "memory":
                    return self.link
                self.memory_link, self.transport_used = memory_or_serial(
                    self.image.elf, self.gdb_port, self.link
                )
                return self.memory_link
            except TargetError as exc:
                errors.append(str(exc))
                self.stop()
                if "in use" not in str(exc):
                    break
        raise TargetError("; ".join(errors))

    def _connect(self, port: int) -> serial.SerialBase:
        assert self.child is not None
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise TargetError(
                    f"QEMU exited with status {self.child.proc.returncode}: "
                    f"{self.child.output().strip()}"
                )
            url = f"socket://127.0.0.1:{port}"
            try:
                return open_url(self.link_url(url), timeout=0.05)
            except serial.SerialException:
                time.sleep(0.05)
        raise TargetError(
            f"QEMU did not open its UART socket on port {port} within {LISTEN_TIMEOUT:.0f} s"
        )

    def stop(self) -> None:
        if self.memory_link is not None and self.memory_link is not self.link:
            with contextlib.suppress(OSError, LinkError):
                self.memory_link.close()
        self.memory_link = None
        if self.link is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self.link.close()
            self.link = None
        if self.child is not None:
            self.child.stop()

    def diagnostics(self) -> str:
        if self.child is None:
            return ""
        out = self.child.output().strip()
        return f"QEMU log ({Path(self.child.log_path)}):\n{out}" if out else ""

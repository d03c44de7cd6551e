"""Corstone-300 FVP backend: Arm's Fixed Virtual Platform runs the image
headless; UART0 is reached over the TCP port its telnet terminal announces.

The options are the ones Arm's and TFLM's headless runs use: no visualisation
window, no telnet client started, UART0 output unbuffered, the application
given with -a, statistics (--stat) printed at exit. The terminal is put in raw
mode, so that hil's binary frames pass unmodified (telnet mode would
negotiate options with the client first)."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import subprocess
import time
from pathlib import Path

import serial

from hil.errors import TargetError
from hil.link.urls import open_url
from hil.paths import cache_dir
from hil.targets.base import Target
from hil.targets.process import ChildProcess

log = logging.getLogger(__name__)

UART_TERMINAL = "telnetterminal0"
LISTENING = re.compile(r"(\S+): Listening for serial connection on port (\d+)")
LISTEN_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
STOP_GRACE = 5.0
HEADLESS_OPTIONS = (
    "mps3_board.visualisation.disable-visualisation=1",
    f"mps3_board.{UART_TERMINAL}.start_telnet=0",
    f"mps3_board.{UART_TERMINAL}.mode=raw",
    "mps3_board.uart0.unbuffered_output=1",
)


def uart_port(output: str, terminal: str = UART_TERMINAL) -> int | None:
    """The TCP port the FVP announced for `terminal`, if it has yet."""
    for name, port in LISTENING.findall(output):
        if name.rstrip(":").endswith(terminal):
            return int(port)
    return None


def statistics(output: str) -> str:
    """The block --stat prints at exit (from its '--- ... statistics' rule)."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("---") and "statistics" in line.lower():
            return "\n".join(lines[i:]).strip()
    return ""


class FvpTarget(Target):
    child: ChildProcess | None = None
    link: serial.SerialBase | None = None
    last_statistics: str = ""

    def command(self) -> list[str]:
        argv = [self.resolution.executable]
        for option in HEADLESS_OPTIONS:
            argv += ["-C", option]
        return [*argv, "--stat", "-a", str(self.image.elf)]

    def start(self) -> serial.SerialBase:
        self.stop()
        log_path = cache_dir() / "logs" / f"fvp-{self.image.board}-{time.monotonic_ns()}.log"
        self.child = ChildProcess(self.command(), log_path)
        try:
            port = self._wait_for_port()
            self.link = self._connect(port)
        except TargetError:
            self.stop()
            raise
        return self.link

    def _output(self) -> str:
        assert self.child is not None
        try:
            return self.child.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_for_port(self) -> int:
        assert self.child is not None
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            port = uart_port(self._output())
            if port is not None:
                return port
            if not self.child.alive():
                raise TargetError(
                    f"{Path(self.resolution.executable).name} exited with status "
                    f"{self.child.proc.returncode} before announcing UART0's port:\n"
                    f"{self.child.output().strip()}"
                )
            time.sleep(0.05)
        raise TargetError(
            f"{Path(self.resolution.executable).name} did not print '{UART_TERMINAL}: Listening "
            f"for serial connection on port N' within {LISTEN_TIMEOUT:.0f} s; its output:\n"
            f"{self.child.output().strip() or '(none)'}"
        )

    def _connect(self, port: int) -> serial.SerialBase:
        assert self.child is not None
        url = f"socket://127.0.0.1:{port}"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                return open_url(self.link_url(url), timeout=0.05)
            except serial.SerialException as exc:
                if not self.child.alive() or time.monotonic() > deadline:
                    raise TargetError(
                        f"cannot connect to the FVP's UART0 at {url}: {exc}\n"
                        f"{self.child.output().strip()}"
                    ) from exc
                time.sleep(0.05)

    def stop(self) -> None:
        if self.link is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self.link.close()
            self.link = None
        if self.child is None:
            return
        child, self.child = self.child, None
        if child.alive():
            # The FVP prints its statistics when interrupted, as on Ctrl-C.
            child.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(STOP_GRACE)
        child.stop()
        stats = statistics(child.output(limit=20000))
        if stats:
            self.last_statistics = stats
            log.info("FVP statistics:\n%s", stats)

    def diagnostics(self) -> str:
        parts = []
        if self.child is not None:
            out = self.child.output().strip()
            if out:
                parts.append(f"FVP log ({self.child.log_path}):\n{out}")
        if self.last_statistics:
            parts.append(f"FVP statistics at exit:\n{self.last_statistics}")
        return "\n".join(parts)

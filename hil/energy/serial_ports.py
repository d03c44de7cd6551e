"""Finding a meter's USB serial port with pyserial, and reading from it on a
thread so a fast sample stream is never left to overflow the OS buffer."""

from __future__ import annotations

import threading
import time
from typing import Any

from hil.energy.errors import MeterNotFoundError


def find_port(*, what: str, vid: int, pid: int | None, serial_number: str) -> tuple[str, str]:
    """(device path, USB serial number) of the one port that matches; else an
    error naming what was looked for and every port seen."""
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    looked_for = f"USB {vid:04x}:{'*' if pid is None else f'{pid:04x}'}" + (
        f" serial {serial_number}" if serial_number else ""
    )
    matches = [
        p
        for p in ports
        if p.vid == vid
        and (pid is None or p.pid == pid)
        and (not serial_number or p.serial_number == serial_number)
    ]
    seen = ", ".join(
        f"{p.device} ({p.vid:04x}:{p.pid:04x} serial {p.serial_number})" if p.vid else p.device
        for p in ports
    )
    if not matches:
        raise MeterNotFoundError(f"no {what} found ({looked_for}); serial ports: {seen or 'none'}")
    if len(matches) > 1:
        raise MeterNotFoundError(
            f"{len(matches)} ports match {what} ({looked_for}): "
            f"{', '.join(p.device for p in matches)}; name one by its serial number"
        )
    return matches[0].device, matches[0].serial_number or ""


class Reader:
    """Collects everything `port` delivers between start() and stop()."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self._chunks: list[bytes] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._chunks = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="meter-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._port.read(65536)  # returns at the port's read timeout
                if data:
                    self._chunks.append(bytes(data))
        except BaseException as exc:  # reported by stop(), not lost on the thread
            self._error = exc

    def received(self) -> bytes:
        """What has arrived so far (the capture goes on)."""
        return b"".join(list(self._chunks))

    def stop_when_quiet(self, quiet_s: float, limit_s: float) -> bytes:
        """Stop once nothing has arrived for `quiet_s` (samples already on the
        wire or in USB buffers still count), or after `limit_s` at most."""
        deadline = time.monotonic() + limit_s
        seen = -1
        while time.monotonic() < deadline:
            count = len(self._chunks)
            if count == seen:
                break
            seen = count
            time.sleep(quiet_s)
        return self.stop()

    def stop(self) -> bytes:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return b"".join(self._chunks)

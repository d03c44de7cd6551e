"""The pseudo-terminal a FAKE serial instrument sits behind: the driver
opens `port`; the fake reads commands on its own thread and writes replies
and samples as the driver drains them. Writes give up once the fake is
closed, so a driver that stopped reading cannot wedge a test's teardown."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyInstrument:
    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def received(self, data: bytes) -> None:
        """Bytes the driver wrote (called on the fake's thread)."""
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 1024)
            except BlockingIOError:
                continue
            except OSError:
                return
            self.received(data)

    def write(self, data: bytes) -> None:
        while data and not self._stop.is_set():
            _, writable, _ = select.select([], [self._master], [], 0.05)
            if writable:
                try:
                    data = data[os.write(self._master, data[:4096]) :]
                except BlockingIOError:
                    continue

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        os.close(self._master)
        os.close(self._slave)

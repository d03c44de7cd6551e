"""faulty://INNER?drop=...&corrupt=...: a pyserial port that opens INNER (any
URL or device pyserial opens, hil's handlers included) and damages the bytes
passing each way (hil.link.urls.faults). It stands wherever a board's link URL
does, so the link-robustness tests reach the real session code through it."""

from __future__ import annotations

import time
from typing import Any

import serial

from hil.link.urls.faults import Damager, DirectionStats, FaultSpec, parse_faults


class Serial(serial.SerialBase):  # type: ignore[misc]
    """The wrapping port; its stats and set_enabled are for the test that made it."""

    is_open: bool = False
    spec: FaultSpec | None = None
    inner: serial.SerialBase | None = None

    def open(self) -> None:
        if self._port is None:
            raise serial.SerialException("faulty://: no URL given")
        if self.is_open:
            raise serial.SerialException("port already open")
        try:
            self.spec = parse_faults(str(self._port))
        except ValueError as exc:
            raise serial.SerialException(str(exc)) from exc
        self.to_device_stats = DirectionStats()
        self.to_host_stats = DirectionStats()
        self._to_device = Damager(self.spec.to_device, self.spec.seed, self.to_device_stats)
        self._to_host = Damager(self.spec.to_host, self.spec.seed + 1, self.to_host_stats)
        self.set_enabled(self.spec.enabled)
        self._pending = bytearray()  # duplicated bytes beyond what a read asked for
        # Imported here: hil.link.urls imports this package's handlers by name.
        from hil.link.urls import open_url

        self.inner = open_url(
            self.spec.inner, baudrate=self._baudrate, timeout=self._timeout
        )
        self.is_open = True

    def set_enabled(self, enabled: bool) -> None:
        """Pass bytes through untouched while disabled (e.g. during set-up)."""
        self._to_device.enabled = enabled
        self._to_host.enabled = enabled

    def _reconfigure_port(self, *args: Any, **kwargs: Any) -> None:
        # hil sets the read timeout before every read: hand it to the inner port.
        if self.inner is not None:
            self.inner.timeout = self._timeout
            self.inner.write_timeout = self._write_timeout

    def _inner(self) -> serial.SerialBase:
        if not self.is_open or self.inner is None:
            raise serial.PortNotOpenError()
        return self.inner

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
            self.inner = None
        self.is_open = False

    @property
    def in_waiting(self) -> int:
        return len(self._pending) + int(self._inner().in_waiting)

    def read(self, size: int = 1) -> bytes:
        inner = self._inner()
        while len(self._pending) < size:
            data = inner.read(size - len(self._pending))
            if not data:
                break  # the inner port's timeout: nothing came
            out, delay = self._to_host.apply(bytes(data))
            if delay:
                time.sleep(delay)
            self._pending += out
            if self._pending:
                break  # what a real port does: return what has arrived
        got = bytes(self._pending[:size])
        del self._pending[:size]
        return got

    def write(self, data: bytes) -> int:
        inner = self._inner()
        out, delay = self._to_device.apply(bytes(data))
        if delay:
            time.sleep(delay)
        if out:
            inner.write(out)
        return len(data)  # the caller cannot tell: bytes lost on the wire look sent

    def flush(self) -> None:
        self._inner().flush()

    def reset_input_buffer(self) -> None:
        self._pending.clear()
        self._inner().reset_input_buffer()

    def reset_output_buffer(self) -> None:
        self._inner().reset_output_buffer()

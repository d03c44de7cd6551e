"""pyserial's RFC 2217 client, except that a change of timeouts alone is not
sent to the server. pyserial renegotiates every port setting (a round trip
and at least 50 ms) whenever `timeout` is set, and hil sets the read timeout
on every read; timeouts are local to the client, so nothing is lost. And
TCP_NODELAY, as hil's own socket links have."""

from __future__ import annotations

import socket
import warnings
from typing import Any

from serial import rfc2217


class Serial(rfc2217.Serial):  # type: ignore[misc]
    _negotiated: tuple[Any, ...] | None = None

    def _line_settings(self) -> tuple[Any, ...]:
        return (
            self._baudrate,
            self._bytesize,
            self._parity,
            self._stopbits,
            self._rtscts,
            self._xonxoff,
        )

    def open(self) -> None:
        self._negotiated = None
        with warnings.catch_warnings():  # pyserial 3.5 uses Thread.setDaemon/setName
            warnings.simplefilter("ignore", DeprecationWarning)
            super().open()
        # Small request/response frames: do not let Nagle hold them back.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _reconfigure_port(self) -> None:
        if self._negotiated == self._line_settings():
            return  # only timeouts changed: they never leave this host
        super()._reconfigure_port()
        self._negotiated = self._line_settings()

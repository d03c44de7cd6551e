"""pyserial URL handlers hil puts ahead of pyserial's own (serial_for_url looks
them up by scheme in serial.protocol_handler_packages): only rfc2217://."""

from __future__ import annotations

import serial

PACKAGE = __name__


def register() -> None:
    """Make serial_for_url("rfc2217://...") use hil's handler; idempotent."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.insert(0, PACKAGE)

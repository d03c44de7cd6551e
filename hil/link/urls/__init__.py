"""pyserial URL handlers hil puts ahead of pyserial's own (serial_for_url looks
them up by scheme in serial.protocol_handler_packages): rfc2217:// (pyserial's
client, faster) and faulty:// (wraps another URL and damages its bytes).

Every port hil opens goes through `open_url`, so a board file's, a rack's or a
probe's rfc2217:// URL gets hil's handler whether or not a rack is loaded."""

from __future__ import annotations

from typing import Any

import serial

PACKAGE = __name__


def register() -> None:
    """Make serial_for_url("rfc2217://...") use hil's handler; idempotent."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.insert(0, PACKAGE)


def open_url(url: str, **kwargs: Any) -> serial.SerialBase:
    """serial.serial_for_url with hil's handlers registered first."""
    register()
    return serial.serial_for_url(url, **kwargs)


# Importing the link layer is enough: code that calls pyserial directly gets it too.
register()

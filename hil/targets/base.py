"""What every backend offers: start an image, hand out its link, reset, stop."""

from __future__ import annotations

import abc

import serial

from hil.boards.resolve import Resolution
from hil.firmware.build import FirmwareImage

UART_PLACEHOLDER = "{uart}"


def link_url(board_serial: dict[str, object], own: str) -> str:
    """The URL hil opens for a target whose UART is at `own`: the board's
    [serial] url where it has one (a serial server in front of an emulator, as
    a rack instance sets it), with `{uart}` replaced by `own`, so a URL can wrap
    the target's own (faulty://{uart}?corrupt=0.01); else `own`."""
    template = str(board_serial.get("url") or "")
    if not template:
        return own
    return template.replace(UART_PLACEHOLDER, own)


class Target(abc.ABC):
    def __init__(self, resolution: Resolution, image: FirmwareImage) -> None:
        self.resolution = resolution
        self.image = image

    def link_url(self, own: str) -> str:
        """See link_url(): what to open for the UART this target offers at `own`."""
        return link_url(self.resolution.board.serial, own)

    @property
    def description(self) -> str:
        """Which backend runs the firmware and why, for headers and results."""
        return self.resolution.describe()

    @abc.abstractmethod
    def start(self) -> serial.SerialBase:
        """Run the image and return an open link to its UART."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the target; safe to call more than once."""

    def restart(self) -> serial.SerialBase:
        self.stop()
        return self.start()

    def diagnostics(self) -> str:
        """Backend output worth showing when something went wrong."""
        return ""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

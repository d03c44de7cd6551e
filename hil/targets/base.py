"""What every backend offers: start an image, hand out its link, reset, stop."""

from __future__ import annotations

import abc
from collections.abc import Callable

import serial

from hil.boards.resolve import Resolution
from hil.firmware.build import FirmwareImage

# Maps the URL a target's UART is reachable at to the URL hil should open,
# e.g. to put a fault-injecting proxy in between.
LinkRoute = Callable[[str], str]


class Target(abc.ABC):
    def __init__(
        self, resolution: Resolution, image: FirmwareImage, route: LinkRoute | None = None
    ) -> None:
        self.resolution = resolution
        self.image = image
        self.route = route

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

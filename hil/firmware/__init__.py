"""Building hil's reference firmware for a board."""

from hil.firmware.build import FirmwareImage, build_firmware

__all__ = ["FirmwareImage", "build_firmware"]

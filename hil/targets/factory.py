"""Create the target object for a resolved board."""

from __future__ import annotations

from hil.boards.resolve import Resolution
from hil.errors import TargetError
from hil.firmware.build import FirmwareImage
from hil.targets.base import LinkRoute, Target
from hil.targets.fvp import FvpTarget
from hil.targets.qemu import QemuTarget


def create_target(
    resolution: Resolution, image: FirmwareImage, route: LinkRoute | None = None
) -> Target:
    if resolution.backend == "qemu":
        return QemuTarget(resolution, image, route)
    if resolution.backend == "fvp":
        return FvpTarget(resolution, image, route)
    if resolution.backend == "pyocd":
        from hil.targets.pyocd import PyocdTarget  # imports pyOCD: only when needed

        return PyocdTarget(resolution, image, route)
    raise TargetError(f"{resolution.describe()}: hil has no {resolution.backend!r} backend")

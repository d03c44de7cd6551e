"""Create the target object for a resolved board."""

from __future__ import annotations

from hil.boards.resolve import Resolution
from hil.errors import TargetError
from hil.firmware.build import FirmwareImage
from hil.targets.base import Target
from hil.targets.fvp import FvpTarget
from hil.targets.qemu import QemuTarget


def create_target(resolution: Resolution, image: FirmwareImage) -> Target:
    if resolution.backend == "qemu":
        return QemuTarget(resolution, image)
    if resolution.backend == "fvp":
        return FvpTarget(resolution, image)
    if resolution.backend == "pyocd":
        from hil.targets.pyocd import PyocdTarget  # imports pyOCD: only when needed

        return PyocdTarget(resolution, image)
    raise TargetError(f"{resolution.describe()}: hil has no {resolution.backend!r} backend")

"""Create the target object for a resolved board."""

from __future__ import annotations

from hil.boards.resolve import Resolution
from hil.errors import TargetError
from hil.firmware.build import FirmwareImage
from hil.targets.base import LinkRoute, Target
from hil.targets.qemu import QemuTarget


def create_target(
    resolution: Resolution, image: FirmwareImage, route: LinkRoute | None = None
) -> Target:
    if resolution.backend == "qemu":
        return QemuTarget(resolution, image, route)
    raise TargetError(
        f"{resolution.describe()}: the {resolution.backend} backend is not available in this "
        "version of hil; force QEMU with --backend=qemu"
    )

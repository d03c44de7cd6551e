"""Backends that run firmware: QEMU now; the FVP and pyOCD boards plug in here."""

from hil.targets.base import Target
from hil.targets.factory import create_target

__all__ = ["Target", "create_target"]

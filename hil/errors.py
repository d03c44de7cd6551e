"""Every error hil raises derives from HilError and says what to do about it."""

from __future__ import annotations


class HilError(Exception):
    """Base class for hil's errors."""


class BoardFileError(HilError):
    """A board file is missing, unreadable or has missing/wrong fields."""


class ToolMissingError(HilError):
    """A required host tool (compiler, emulator) is not installed."""


class BuildError(HilError):
    """The firmware failed to compile or link."""


class TargetError(HilError):
    """A target could not be started, flashed or reached."""


class LinkError(HilError):
    """The byte link to the device failed: timeout, corruption, or disconnection."""


class DeviceResetError(LinkError):
    """The device restarted in the middle of a session; its state is gone."""


class DeviceHangError(LinkError):
    """No valid response within the command's timeout, after every retry."""

    def __init__(self, command: str, timeout: float, attempts: int) -> None:
        self.command = command
        self.timeout = timeout
        self.attempts = attempts
        super().__init__(
            f"device hang: no valid response to {command} within {timeout:.1f} s "
            f"({attempts} attempt{'s' if attempts > 1 else ''}); the target was reset"
        )


class DeviceFaultError(HilError):
    """The device's CPU faulted; carries the fault report it sent."""

    def __init__(self, report: object, command: str) -> None:
        self.report = report
        self.command = command
        describe = getattr(report, "describe", lambda: str(report))
        super().__init__(f"device fault during {command}: {describe()}")


class DeviceError(HilError):
    """The device refused a request; carries its status code and text."""

    def __init__(self, status: int, message: str, command: str = "") -> None:
        self.status = status
        self.message = message
        self.command = command
        where = f"{command}: " if command else ""
        super().__init__(f"{where}device error {status}: {message}")


class ModelFileError(HilError):
    """A model file is missing or is not a TFLite flatbuffer."""


class InputError(HilError):
    """Input vectors do not fit the model (dtype, shape, NaN)."""

"""Every error hil raises derives from HilError and says what to do about it."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Status codes the device agent and hil's engine answer with (hil/status.h)."""

    OK = 0
    BAD_FRAME = 1
    UNKNOWN_COMMAND = 2
    BAD_REQUEST = 3
    STATE = 4
    MODEL_INVALID = 5
    UNSUPPORTED = 6
    ARENA_TOO_SMALL = 7
    MODEL_TOO_LARGE = 8
    TENSOR = 9
    INVOKE = 10
    CHECKSUM = 11
    INTERNAL = 12


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
    """No valid response within the command's time, after every retry."""

    def __init__(
        self,
        command: str,
        timeout: float,
        attempts: int,
        elapsed: float | None = None,
        timeouts: int | None = None,
        damaged: int = 0,
    ) -> None:
        self.command = command
        self.timeout = timeout
        self.attempts = attempts
        self.elapsed = timeout * attempts if elapsed is None else elapsed
        self.timeouts = attempts if timeouts is None else timeouts
        self.damaged = damaged
        self.target_reset = False
        super().__init__(self._text())

    def _text(self) -> str:
        tried = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        what = [f"{self.timeouts} timed out after {self.timeout:.2g} s each"]
        if self.damaged:
            what.append(f"{self.damaged} answered by a damaged frame or NAK")
        text = (
            f"device hang: no valid response to {self.command} in {self.elapsed:.2f} s "
            f"({tried}: {', '.join(what)})"
        )
        return text + ("; the target was reset" if self.target_reset else "")

    def mark_reset(self) -> None:
        """The caller did reset the target: say so in the message."""
        self.target_reset = True
        self.args = (self._text(),)


def note_reset(error: BaseException) -> None:
    """Record on `error` that the target was reset because of it."""
    if isinstance(error, DeviceHangError):
        error.mark_reset()


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


class InvalidModelError(ModelFileError):
    """A model file is malformed: an offset, index, shape or graph edge is wrong."""


class InputError(HilError):
    """Input vectors do not fit the model (dtype, shape, NaN), or an input file is bad."""


class CaseDefinitionError(HilError, ValueError):
    """A ModelCase field is out of range (a ValueError too, as it always was)."""

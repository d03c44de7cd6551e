"""Retry a case after an infrastructure failure (`--hil-retries N`): a broken or
silent link, a hang, an emulator, probe or target that failed. Never after a
device fault, a refused request or an output mismatch: those say something
about the firmware or the model, and a retry would hide it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hil.errors import DeviceFaultError, HilError, LinkError, TargetError

T = TypeVar("T")


def is_infrastructure(exc: BaseException) -> bool:
    """LinkError (timeouts, hangs, resets, a dead socket) and TargetError
    (emulator, probe, flashing); DeviceFaultError is never one."""
    return isinstance(exc, LinkError | TargetError) and not isinstance(exc, DeviceFaultError)


def with_retries(
    attempt: Callable[[], T],
    retries: int,
    recover: Callable[[BaseException], None],
) -> tuple[T, list[HilError]]:
    """Run `attempt` up to 1 + `retries` times while it fails with an
    infrastructure error, calling `recover(error)` before each retry. Returns
    its result and the errors of the failed attempts; the last error (or any
    other error) propagates with `.earlier_attempts` set to the ones before."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    earlier: list[HilError] = []
    while True:
        try:
            return attempt(), earlier
        except HilError as exc:
            if not is_infrastructure(exc) or len(earlier) >= retries:
                exc.earlier_attempts = list(earlier)  # type: ignore[attr-defined]
                raise
            earlier.append(exc)
        try:
            recover(earlier[-1])
        except HilError as exc:  # the device would not come back: give up with why
            exc.earlier_attempts = list(earlier)  # type: ignore[attr-defined]
            raise


def earlier_attempts(exc: BaseException) -> list[HilError]:
    return list(getattr(exc, "earlier_attempts", []))

"""The one interface every energy meter driver implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

from hil.energy.trace import MeterIdentity, Trace


class Meter(ABC):
    """An instrument that samples current, voltage and the marker input on its
    own clock. Use as a context manager, or call open() and close().

    A capture is start_capture() ... stop_capture(); the trace it returns
    covers at least everything between the two calls."""

    @property
    @abstractmethod
    def identity(self) -> MeterIdentity:
        """Model, serial, sample rate and sync method (valid once open)."""

    @abstractmethod
    def open(self) -> None:
        """Find and configure the instrument; fail fast, naming what was looked for."""

    @abstractmethod
    def close(self) -> None:
        """Release the instrument; safe to call twice."""

    @abstractmethod
    def start_capture(self) -> None: ...

    @abstractmethod
    def stop_capture(self) -> Trace: ...

    def __enter__(self) -> Meter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

"""What the runner, the pytest plugin and the CLI may ask of a device under
test, whichever protocol it speaks: hil's (hil.device.dut.Dut) or EEMBC's
(hil.device.eembc.EembcDut). mypy checks that both implement it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

import numpy as np

from hil.boards.board import Board
from hil.boards.resolve import Resolution
from hil.errors import DeviceFaultError, LinkError, note_reset
from hil.firmware.build import FirmwareImage
from hil.link.eembc import EembcError
from hil.link.session import LoadedModel
from hil.measurements.counters import Measurement
from hil.measurements.phases import PhaseClock
from hil.measurements.profile import Profile
from hil.model.file import ModelFile
from hil.targets import Target

# An inference may take this long per MiB of model on the slowest target
# (QEMU under -icount), on top of the per-request timeout.
INVOKE_SECONDS_PER_MIB = 60.0
STARTUP_TIMEOUT = 5.0

# The errors after which a device's state is unknown, so `recover` resets it:
# a broken or silent link, a CPU fault, an EEMBC answer that is not what the
# protocol promises. A refused request or a wrong output leaves it usable.
RESET_ERRORS: tuple[type[BaseException], ...] = (LinkError, DeviceFaultError, EembcError)


def invoke_timeout(request_timeout: float, model_bytes: int, runs: int = 1) -> float:
    """How long `runs` inferences of a model of `model_bytes` may take."""
    return request_timeout * runs + INVOKE_SECONDS_PER_MIB * model_bytes / (1 << 20)


class DeviceState(Enum):
    """Where a device is, as its methods move it (start, load, recover, restart, close)."""

    OFF = "off"  # not started, or closed (an EEMBC device until its first model)
    BOOTED = "booted"  # the firmware answered; no model held
    MODEL_LOADED = "model loaded"
    FAULTED = "faulted"  # one of RESET_ERRORS happened; recover() resets it
    RESET = "reset"  # restarted (after a fault, or by hand); the model is to be loaded again


@dataclass(frozen=True)
class Timing:
    """How a vector is run: `warmup` untimed inferences, `repeats` timed ones,
    and whether the first timed one is also profiled per operator."""

    warmup: int = 0
    repeats: int = 1
    profile: bool = False


ONCE = Timing()  # one timed inference, no warm-up, no profile
Vector = Sequence[np.ndarray]  # one array per model input


@dataclass
class Inference:
    """What one vector's run on the device gave."""

    outputs: list[np.ndarray]
    measurements: list[Measurement]  # one per timed repeat
    stack_bytes: int | None  # None where the protocol cannot tell
    profile: Profile | None = None


D = TypeVar("D", bound="Device")


class Device(Protocol):
    """A device under test: firmware on a resolved target, driven over a protocol.
    Both devices subclass it, so mypy checks they implement every method; the
    few with a body here are the same for both."""

    resolution: Resolution
    board: Board
    variant: str  # the firmware variant its images are built as
    cflags: tuple[str, ...]  # extra compiler flags for the images hil builds
    timeout: float
    image: FirmwareImage | None
    target: Target | None
    state: DeviceState
    phases: PhaseClock  # host wall time per phase; a device times the phases it can tell apart

    @property
    def description(self) -> str: ...

    @property
    def build_id(self) -> str: ...

    @property
    def engine(self) -> str: ...

    @property
    def engine_identity(self) -> tuple[str, str]:
        """(engine, version) as the device reports them; ("", "") before it answered."""
        ...

    @property
    def transport_used(self) -> str:
        """"memory" or "serial": what carries the device's link now."""
        ...

    def link_stats(self) -> dict[str, int | float]:
        """What the link went through since the device started (resends, bad
        frames, bytes); empty where the protocol does not count."""
        ...

    def log(self) -> str:
        """The backend's output worth showing when something went wrong."""
        return self.target.diagnostics() if self.target is not None else ""

    def start(self) -> Device: ...

    def close(self) -> None: ...

    def __enter__(self: D) -> D:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def restart(self) -> None:
        """Reset the target and greet the firmware again."""
        ...

    def recover(self, error: BaseException) -> bool:
        """Reset after one of RESET_ERRORS, so the next case starts clean;
        returns whether `error` called for it."""
        return reset_after(self, error)

    def startup_timeout(self) -> float:
        """How long a target just started may take to answer, whatever the
        per-request timeout."""
        return max(self.timeout, STARTUP_TIMEOUT)

    def invoke_timeout(self, model_bytes: int, runs: int = 1) -> float:
        """How long `runs` inferences of a model of `model_bytes` may take."""
        return invoke_timeout(self.timeout, model_bytes, runs)

    def load(self, model: ModelFile, placement: str = "") -> LoadedModel: ...

    def load_cost(self, loaded: LoadedModel) -> Measurement | None: ...

    def reset_state(self, model: ModelFile) -> None:
        """Put a stateful model back to its initial state (a no-op otherwise)."""
        ...

    def infer(
        self, model: ModelFile, loaded: LoadedModel, vector: Vector, timing: Timing = ONCE
    ) -> Inference:
        """One vector through the loaded model, run as `timing` says."""
        ...

    def run_marked(self, model: ModelFile, vector: Vector, inferences: int) -> int:
        """`inferences` inferences on `vector` for an energy capture, the
        marker raised around them; returns how many marker windows they make."""
        ...


def reset_after(device: Device, error: BaseException) -> bool:
    """The one reset policy of both devices' `recover`: after one of
    RESET_ERRORS the device is faulted, restarted and `error` says so."""
    if not isinstance(error, RESET_ERRORS):
        return False
    device.state = DeviceState.FAULTED
    device.restart()
    note_reset(error)
    return True

"""The device under test: a built image running on a resolved target, with an
open protocol session. What fixtures and the CLI hand to test code."""

from __future__ import annotations

import logging

from hil.boards.resolve import Resolution
from hil.errors import DeviceError, HilError, LinkError
from hil.firmware.build import FirmwareImage, build_firmware
from hil.link.protocol import Counters, Hello
from hil.link.session import LoadedModel, Session
from hil.measurements.counters import Measurement, interpret_counter
from hil.models import ModelFile
from hil.targets import Target, create_target

log = logging.getLogger(__name__)


class Dut:
    def __init__(
        self, resolution: Resolution, variant: str = "release", timeout: float = 10.0
    ) -> None:
        self.resolution = resolution
        self.board = resolution.board
        self.variant = variant
        self.timeout = timeout
        self.image: FirmwareImage | None = None
        self.target: Target | None = None
        self._session: Session | None = None
        self._hello: Hello | None = None
        self._loaded: tuple[str, LoadedModel] | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Dut:
        self.image = build_firmware(self.board, self.variant)
        self.target = create_target(self.resolution, self.image)
        self._connect()
        return self

    def _connect(self) -> None:
        assert self.target is not None
        link = self.target.start()
        self._session = Session(link, timeout=self.timeout)
        try:
            self._hello = self._session.hello()
        except (LinkError, DeviceError) as exc:
            detail = self.target.diagnostics()
            raise LinkError(
                f"{self.description}: no HELLO from the device: {exc}"
                + (f"\n{detail}" if detail else "")
            ) from exc
        self._loaded = None
        if self.image and self._hello.build_id != self.image.build_id:
            raise HilError(
                f"device runs firmware {self._hello.build_id}, expected "
                f"{self.image.build_id}: the wrong image was started"
            )

    def restart(self) -> None:
        """Reset the target (a fresh emulator) and greet it again."""
        log.info("restarting %s", self.description)
        self._connect()

    def close(self) -> None:
        if self.target is not None:
            self.target.stop()
        self._session = None

    def __enter__(self) -> Dut:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- facts -----------------------------------------------------------------

    @property
    def session(self) -> Session:
        if self._session is None:
            raise HilError("the device is not started")
        return self._session

    @property
    def hello(self) -> Hello:
        if self._hello is None:
            raise HilError("the device is not started")
        return self._hello

    @property
    def description(self) -> str:
        return self.resolution.describe()

    def measurement(self, counters: Counters) -> Measurement | None:
        return interpret_counter(
            counters.kind,
            counters.ticks,
            backend=self.resolution.backend,
            clock_hz=self.hello.clock_hz,
            icount_shift=self.board.backend("qemu").get("icount_shift"),
        )

    # -- models ----------------------------------------------------------------

    def load(self, model: ModelFile) -> LoadedModel:
        """Send the model unless the device already holds exactly these bytes."""
        if self._loaded is not None and self._loaded[0] == model.sha256:
            return self._loaded[1]
        self._loaded = None
        loaded = self.session.load_model(model.data)
        self._loaded = (model.sha256, loaded)
        return loaded

    def forget_model(self) -> None:
        self._loaded = None

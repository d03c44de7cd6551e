"""The device under test: a built image running on a resolved target, with an
open protocol session. What fixtures and the CLI hand to test code."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np

from hil import progress
from hil.boards.resolve import Resolution
from hil.device.protocol import ONCE, Device, DeviceState, Inference, Timing, Vector
from hil.errors import (
    DeviceError,
    HilError,
    LinkError,
    ModelFileError,
)
from hil.firmware.build import FirmwareImage, build_firmware
from hil.firmware.prebuilt import prebuilt_firmware
from hil.firmware.tflm_resolver import check_ops_mode
from hil.link.protocol import MAX_REPEATS, PROTOCOL_VERSION, Hello
from hil.link.session import LoadedModel, Session
from hil.measurements.counters import CounterKind, Measurement, interpret_counter
from hil.measurements.phases import PhaseClock
from hil.measurements.profile import OpProfile, Profile
from hil.model.file import ModelFile
from hil.targets import Target, create_target
from hil.targets.memory_link import ask_transport, transport_used
from hil.targets.transport import TransportChoice, device_transport

log = logging.getLogger(__name__)


class Dut(Device):
    """A device running hil's firmware, over hil's protocol (a hil.device.protocol.Device)."""

    def __init__(
        self,
        resolution: Resolution,
        variant: str = "release",
        timeout: float = 10.0,
        cflags: tuple[str, ...] = (),
        engine: str = "hil",
        transport: str | None = None,
        firmware: Path | None = None,
        tflm_ops: str = "all",
    ) -> None:
        self.resolution = resolution
        #: A prebuilt image to flash instead of building one (hil.firmware.prebuilt).
        self.firmware = Path(firmware) if firmware is not None else None
        # Asked for (None: the board's fastest); transport_used says what runs.
        self.transport_choice: TransportChoice = device_transport(resolution, transport)
        self.engine_choice = engine  # what the image is built with (hil.firmware.engine_choice)
        #: "all": TFLM's resolver registers every builtin; "model": only the
        #: loaded model's operators, the image rebuilt for each op set.
        self.tflm_ops = check_ops_mode(tflm_ops)
        self.board = resolution.board
        self.variant = variant if firmware is None else "prebuilt"
        self.cflags = tuple(cflags)  # extra compiler flags for the image
        self.timeout = timeout
        self.image: FirmwareImage | None = None
        self.target: Target | None = None
        self._session: Session | None = None
        self._hello: Hello | None = None
        self.state = DeviceState.OFF
        self._stats_before: dict[str, int | float] = {}  # of sessions ended by a reset
        self.phases = PhaseClock()  # host wall time per phase (benchmarks/suite.py)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Dut:
        with self.phases.phase("build"):
            if self.firmware is not None:
                self.image = prebuilt_firmware(self.firmware, self.board)
            else:
                self.image = build_firmware(
                    self.board, self.variant, cflags=self.cflags, engine=self.engine_choice
                )
        self.target = create_target(self.resolution, self.image)
        ask_transport(self.target, self.transport_choice.transport)
        self._connect()
        return self

    def _connect(self) -> None:
        with self.phases.phase("boot"):
            self._boot()

    def _boot(self) -> None:
        assert self.target is not None
        if self._session is not None:
            self._stats_before = _added(self._stats_before, self._session.stats.as_dict())
        link = self.target.start()
        self._session = Session(link, timeout=self.timeout)
        try:
            # A target just started may take a while to boot, whatever the link timeout.
            self._hello = self._session.hello(timeout=self.startup_timeout())
        except (LinkError, DeviceError) as exc:
            detail = self.target.diagnostics()
            raise LinkError(
                f"{self.description}: no HELLO from the device: {exc}"
                + (f"\n{detail}" if detail else "")
            ) from exc
        if self._hello.protocol_version != PROTOCOL_VERSION:
            raise HilError(
                f"{self.description}: the device speaks hil protocol version "
                f"{self._hello.protocol_version}, this hil speaks {PROTOCOL_VERSION}"
            )
        if self.image and self._hello.build_id != self.image.build_id:
            raise HilError(
                f"device runs firmware {self._hello.build_id}, expected "
                f"{self.image.build_id}: the wrong image was started"
            )
        self.state = DeviceState.BOOTED

    @property
    def transport_used(self) -> str:
        """"memory" or "serial": what carries the session now (the choice, or
        serial after the debug port refused)."""
        if self.target is None:
            return self.transport_choice.transport
        return transport_used(self.target)

    def restart(self) -> None:
        """Reset the target (a fresh emulator) and greet it again."""
        log.info("restarting %s", self.description)
        self._connect()
        self.state = DeviceState.RESET

    def close(self) -> None:
        if self.target is not None:
            self.target.stop()
        if self._session is not None:
            self._stats_before = _added(self._stats_before, self._session.stats.as_dict())
        self._session = None
        self.state = DeviceState.OFF

    def link_stats(self) -> dict[str, int | float]:
        now = self._session.stats.as_dict() if self._session is not None else {}
        return _added(self._stats_before, now)


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

    def measure(self, kind: CounterKind, ticks: int) -> Measurement | None:
        """Raw device ticks as a named figure (instructions on QEMU, cycles on boards)."""
        return interpret_counter(
            kind,
            ticks,
            backend=self.resolution.backend,
            clock_hz=self.hello.clock_hz,
            icount_shift=self.board.backend("qemu").get("icount_shift"),
        )

    # -- models ----------------------------------------------------------------

    @property
    def build_id(self) -> str:
        return self.hello.build_id

    @property
    def engine(self) -> str:
        return f"{self.hello.engine} {self.hello.engine_version}"

    @property
    def engine_identity(self) -> tuple[str, str]:
        if self._hello is None:
            return "", ""  # nothing is known before the device answers
        return self._hello.engine, self._hello.engine_version

    def infer(
        self, model: ModelFile, loaded: LoadedModel, vector: Vector, timing: Timing = ONCE
    ) -> Inference:
        """One vector through the loaded model: set inputs, invoke (warm-up,
        timed repeats, optional profiled run), read outputs."""
        session, phases = self.session, self.phases
        with phases.phase("inputs"):
            for i, data in enumerate(vector):
                session.set_input(i, np.ascontiguousarray(data).tobytes())
        with phases.phase("inference"):
            counters = session.invoke(
                timeout=self.invoke_timeout(len(model.data)),
                warmup=timing.warmup,
                repeats=timing.repeats,
                profile=timing.profile,
            )
        outputs = []
        with phases.phase("outputs"):
            for i, (spec, dev) in enumerate(zip(model.outputs, loaded.outputs, strict=True)):
                raw = session.get_output(i, dev.nbytes)
                outputs.append(np.frombuffer(raw, dtype=spec.dtype).reshape(spec.shape).copy())
        measurements = [m for t in counters.repeats if (m := self.measure(counters.kind, t))]
        prof = None
        if counters.profile_total is not None:
            prof = self._profile(model, counters.kind, counters.repeats[0], counters.profile_total)
        return Inference(outputs, measurements, counters.stack_bytes, prof)

    def _profile(
        self, model: ModelFile, kind: CounterKind, whole_ticks: int, profiled_ticks: int
    ) -> Profile | None:
        whole = self.measure(kind, whole_ticks)
        profiled = self.measure(kind, profiled_ticks)
        if whole is None or profiled is None:
            return None
        names = model.op_names
        ops = []
        for i, ticks in enumerate(self.session.read_profile()):
            m = self.measure(kind, ticks)
            ops.append(OpProfile(i, names[i] if i < len(names) else "?", m.value if m else 0))
        return Profile(whole.kind, whole.method, ops, whole.value, profiled.value)

    def reset_state(self, model: ModelFile) -> None:
        """Put a stateful model back to its initial state (a no-op otherwise)."""
        if model.has_variables:
            self.session.reset()

    def load_cost(self, loaded: LoadedModel) -> Measurement | None:
        """What parsing, planning and preparing the model cost on the device."""
        if loaded.load_ticks is None:
            return None
        return self.measure(loaded.load_counter, loaded.load_ticks)

    def run_marked(self, model: ModelFile, vector: Vector, inferences: int) -> int:
        """`inferences` timed inferences on `vector` for an energy capture. The
        agent raises the marker around each one, so they make as many marker
        windows; returns that count."""
        session = self.session
        for i, data in enumerate(vector):
            session.set_input(i, np.ascontiguousarray(data).tobytes())
        left = inferences
        while left:  # one INVOKE runs at most MAX_REPEATS
            chunk = min(left, MAX_REPEATS)
            session.invoke(timeout=self.invoke_timeout(len(model.data)), repeats=chunk)
            left -= chunk
        return inferences

    def load(self, model: ModelFile, placement: str = "") -> LoadedModel:
        """Make `model` the loaded one: nothing to do if the device holds it
        already; the model linked into the image when it is that one; else
        uploaded into RAM, or, with placement "linked" (the case's or the
        board's) or when it does not fit the RAM, linked into a new image."""
        placement = placement or self.board.model_placement
        held = self.session.loaded
        wanted = (held.linked == (placement == "linked")) if placement and held else True
        if held is not None and held.sha256 == model.sha256 and wanted:
            self.state = DeviceState.MODEL_LOADED
            return held
        capacity = self.hello.model_capacity
        fits = len(model.data) <= capacity
        load = self.phases.phase("model load")
        if placement != "upload" and self._holds_linked(model) and self._serves(model):
            with load:
                loaded = self.session.load_linked(model.data)
        elif placement == "linked" or (not fits and placement != "upload"):
            self._relink(model, why="asked for" if placement == "linked" else "too large for RAM")
            with load:
                loaded = self.session.load_linked(model.data)
        elif not fits:
            raise ModelFileError(
                f"{model.path} is {len(model.data):,} bytes; {self.board.name} holds models of "
                f'at most {capacity:,} bytes in RAM (model_placement = "linked" links it '
                "into flash instead)"
            )
        else:
            if not self._serves(model):
                log.info("building the image with %s's operators only", model.path)
                self._boot_image(model, linked=False)
            size = len(model.data)
            with load, progress.task("upload", f"model {model.path.name}", size, "B") as upload:
                loaded = self.session.load_model(model.data, upload.advance)
        self.state = DeviceState.MODEL_LOADED
        return loaded


    def _holds_linked(self, model: ModelFile) -> bool:
        """Whether the image's linked model is MODEL: size and the crc32 the
        device computed over it, and the SHA-256 it was built with if known."""
        hello = self.hello
        return (
            hello.linked_bytes == len(model.data)
            and hello.linked_crc == zlib.crc32(model.data)
            and hello.linked_sha256 in ("", model.sha256)
        )

    def _relink(self, model: ModelFile, why: str) -> None:
        """Build the image with MODEL in flash and restart the target on it."""
        if self.firmware is not None:
            raise ModelFileError(
                f"{model.path}: a linked model was {why}, but {self.firmware} is a prebuilt "
                "image hil cannot relink; link the model into it yourself"
            )
        log.info("linking %s into the image (%s)", model.path, why)
        self._boot_image(model, linked=True)
        if not self._holds_linked(model):
            raise HilError(
                f"{model.path}: the image built with it linked reports another model "
                f"({self.hello.linked_bytes} bytes, sha256 {self.hello.linked_sha256 or '?'}); "
                "did the file change during the build?"
            )


    def _ops_for(self, model: ModelFile) -> tuple[str, ...] | None:
        """The operators an image serving MODEL registers (None: every builtin)."""
        if self.tflm_ops != "model" or self.engine_choice == "hil":
            return None
        return model.operator_set

    def _serves(self, model: ModelFile) -> bool:
        """Whether the running image registers what MODEL needs, as the ops
        mode asks: a prebuilt image is as it is (it refuses what it lacks)."""
        return self.firmware is not None or (
            self.image is not None and self.image.tflm_ops == self._ops_for(model)
        )

    def _boot_image(self, model: ModelFile, linked: bool) -> None:
        """Build the image for MODEL (its operators where the ops mode is
        "model"; the model in flash when LINKED) and restart the target on it."""
        with self.phases.phase("build"):
            self.image = build_firmware(
                self.board,
                self.variant,
                cflags=self.cflags,
                engine=self.engine_choice,
                linked_model=model.path if linked else None,
                tflm_ops=self._ops_for(model),
            )
        if self.target is not None:
            self.target.stop()
        self.target = create_target(self.resolution, self.image)
        ask_transport(self.target, self.transport_choice.transport)
        self._connect()


def _added(a: dict[str, int | float], b: dict[str, int | float]) -> dict[str, int | float]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}


def create_dut(
    resolution: Resolution,
    variant: str = "release",
    timeout: float = 10.0,
    cflags: tuple[str, ...] = (),
    engine: str = "hil",
    firmware: Path | None = None,
    tflm_ops: str = "all",
    transport: str | None = None,
) -> Device:
    """The device for a resolved board, speaking the board's protocol; a
    prebuilt `firmware` image (else the board file's) instead of hil's build."""
    firmware = firmware if firmware is not None else resolution.board.firmware
    if resolution.board.protocol == "eembc":
        if firmware is not None:
            raise HilError(
                f"board {resolution.board.name} speaks the EEMBC protocol: give its prebuilt "
                "images in the board file's [eembc] table, not as firmware"
            )
        from hil.device.eembc import EembcDut

        return EembcDut(
            resolution,
            timeout=timeout,
            cflags=cflags,
            engine=engine,
            tflm_ops=tflm_ops,
            transport=transport,
        )
    return Dut(
        resolution,
        variant=variant,
        timeout=timeout,
        cflags=cflags,
        engine=engine,
        firmware=firmware,
        tflm_ops=tflm_ops,
        transport=transport,
    )

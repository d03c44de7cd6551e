"""A device that speaks the MLPerf Tiny (EEMBC) protocol instead of hil's. The
model lives in the image, so each model gets its own image and a restart: hil's
firmware built in EEMBC mode, or a prebuilt MLPerf Tiny image that the board
file names (`[eembc] images`), flashed as it is."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hil.boards.resolve import Resolution
from hil.device.protocol import ONCE, Device, DeviceState, Inference, Timing, Vector
from hil.energy.errors import EnergyError
from hil.errors import BoardFileError, HilError, LinkError
from hil.firmware.build import FirmwareImage, build_firmware
from hil.firmware.tflm_resolver import check_ops_mode
from hil.link.eembc import EembcInfo, EembcSession, recover_quantized
from hil.link.session import LoadedModel
from hil.measurements.counters import Measurement
from hil.measurements.phases import PhaseClock
from hil.model.file import ModelFile
from hil.targets import Target, create_target
from hil.targets.transport import device_transport

log = logging.getLogger(__name__)
TIMER_METHOD = (
    "EEMBC m-lap-us timestamps around the timed inferences: the device's own "
    "microsecond timer (on an emulator, its virtual clock), averaged per inference"
)


class EembcDut(Device):
    """A device running MLPerf Tiny firmware, over EEMBC's protocol (a
    hil.device.protocol.Device): build, load, infer, recover."""

    def __init__(
        self,
        resolution: Resolution,
        timeout: float = 10.0,
        cflags: tuple[str, ...] = (),
        engine: str = "hil",
        tflm_ops: str = "all",
        transport: str | None = None,
    ) -> None:
        self.resolution = resolution
        # EEMBC's protocol runs over the UART only: a memory request is logged as serial.
        self.transport_choice = device_transport(resolution, transport)
        self.cflags = tuple(cflags)  # extra compiler flags for hil's own EEMBC images
        self.engine_choice = engine  # the engine of hil's own EEMBC images
        self.tflm_ops = check_ops_mode(tflm_ops)  # "model": TFLM registers the model's ops only
        self.board = resolution.board
        self.variant = "prebuilt" if self.board.eembc_images else "eembc"
        self.timeout = timeout
        self.image: FirmwareImage | None = None
        self.target: Target | None = None
        self._session: EembcSession | None = None
        self.info: EembcInfo | None = None
        self._loaded: LoadedModel | None = None
        self.state = DeviceState.OFF
        # One EEMBC exchange sends the input and runs it: only the references
        # (the runner's) are timed on their own.
        self.phases = PhaseClock()

    def start(self) -> EembcDut:
        return self  # nothing runs until a model is chosen: it is part of the image

    def close(self) -> None:
        if self.target is not None:
            self.target.stop()
        self._session = None
        self._loaded = None
        self.state = DeviceState.OFF

    def link_stats(self) -> dict[str, int | float]:
        return {}  # EEMBC's text protocol has no resends or frames to count

    @property
    def transport_used(self) -> str:
        return self.transport_choice.transport  # always serial


    @property
    def description(self) -> str:
        source = "prebuilt firmware" if self.board.eembc_images else "hil's firmware"
        return f"{self.resolution.describe()} over EEMBC ({source})"

    @property
    def session(self) -> EembcSession:
        if self._session is None:
            raise HilError("no model loaded yet: the EEMBC firmware is built per model")
        return self._session

    @property
    def build_id(self) -> str:
        return self.image.build_id if self.image else "unknown"

    @property
    def engine(self) -> str:
        return f"EEMBC firmware: {self.info.profile}" if self.info else "EEMBC firmware"

    @property
    def engine_identity(self) -> tuple[str, str]:
        return self.engine, ""  # the protocol names no engine version

    def _boot(self) -> None:
        assert self.target is not None
        self._session = EembcSession(self.target.start(), timeout=self.timeout)
        try:
            self._session.wait_ready(timeout=self.startup_timeout())
            self.info = self._session.hello()
        except HilError as exc:
            raise LinkError(
                f"{self.description}: EEMBC firmware did not answer: {exc}\n"
                f"{self.target.diagnostics()}"
            ) from exc

    def load(self, model: ModelFile, placement: str = "") -> LoadedModel:
        del placement  # the EEMBC protocol's model is always linked into the image
        if self._loaded is not None and self._loaded.sha256 == model.sha256:
            self.state = DeviceState.MODEL_LOADED
            return self._loaded
        if len(model.inputs) != 1:
            raise HilError(
                f"{model.path}: the EEMBC protocol carries one input; the model "
                f"has {len(model.inputs)}"
            )
        self.close()
        self.image = self._image_for(model)
        self.target = create_target(self.resolution, self.image)
        self._boot()
        self._check_model_id(model)
        self._loaded = LoadedModel(
            hashlib.sha256(model.data).hexdigest(),
            zlib.crc32(model.data),
            len(model.data),
            None,
            tuple(dataclasses.replace(s, name="") for s in model.inputs),
            tuple(dataclasses.replace(s, name="") for s in model.outputs),
        )
        self.state = DeviceState.MODEL_LOADED
        return self._loaded

    def _image_for(self, model: ModelFile) -> FirmwareImage:
        images = self.board.eembc_images
        if not images:
            by_model = self.tflm_ops == "model" and self.engine_choice != "hil"
            ops = model.operator_set if by_model else None
            return build_firmware(
                self.board,
                "eembc",
                model.path,
                cflags=self.cflags,
                engine=self.engine_choice,
                tflm_ops=ops,
            )
        key = _model_key(model, images)
        if key is None:
            raise BoardFileError(
                f"board {self.board.name} runs prebuilt EEMBC firmware ({self.board.path}: "
                f"eembc.images) and has no image for model {model.path.stem} "
                f"(sha256:{model.sha256}); it has images for: {', '.join(sorted(images))}"
            )
        return prebuilt_image(images[key], self.board.name, model, f"eembc.images.{key}")

    def _check_model_id(self, model: ModelFile) -> None:
        """A prebuilt image says which model it holds (`m-model-[...]`); when
        the board file says what to expect, a wrong image is refused."""
        key = _model_key(model, self.board.eembc_model_ids)
        if key is None or self.info is None:
            return
        expected = self.board.eembc_model_ids[key]
        if self.info.model != expected:
            image = self.image.elf if self.image else "?"
            raise HilError(
                f"{image} reports model {self.info.model!r}, but {self.board.path} "
                f"expects {expected!r} for {model.path.stem} (eembc.model_ids.{key})"
            )

    def reset_state(self, model: ModelFile) -> None:
        """EEMBC has no reset command: a stateful model is reset by restarting
        the target (its image holds the model); a stateless one needs nothing."""
        if model.has_variables:
            self.restart()
            self.state = DeviceState.MODEL_LOADED  # the image holds the model

    def load_cost(self, loaded: LoadedModel) -> Measurement | None:
        return None  # the protocol does not tell

    def restart(self) -> None:
        if self.target is not None:
            self._boot()
            self.state = DeviceState.RESET

    def recover(self, error: BaseException) -> bool:
        return self.target is not None and super().recover(error)

    def infer(
        self, model: ModelFile, loaded: LoadedModel, vector: Vector, timing: Timing = ONCE
    ) -> Inference:
        """`infer N W` with the vector loaded: EEMBC's firmware times the N
        runs as one and profiles nothing."""
        if loaded is not self._loaded:
            raise HilError(f"{model.path} is not the model loaded on {self.description}")
        session = self.session
        session.load(np.ascontiguousarray(vector[0]).tobytes())
        runs = timing.warmup + timing.repeats
        timeout = self.invoke_timeout(len(model.data), runs)
        run = session.infer(timing.repeats, timing.warmup, timeout=timeout)
        outputs = self._outputs(model, run.results, run.decimals)
        us = Measurement("device_timer_us", round(run.us_per_inference), TIMER_METHOD)
        return Inference(outputs, [us], None, None)

    def run_marked(self, model: ModelFile, vector: Vector, inferences: int) -> int:
        """`infer N 0` for an energy capture: EEMBC firmware raises the marker
        once around the whole loop, so it makes one window."""
        if self.variant == "prebuilt":
            raise EnergyError(
                f"{self.board.name} runs prebuilt MLPerf Tiny firmware, which marks an energy "
                "run with timestamp pulses for the EEMBC energy runner, not with hil's marker "
                "level around the inferences; measure energy with hil's firmware (protocol "
                "eembc without [eembc] images) or with the EEMBC runner"
            )
        self.session.load(np.ascontiguousarray(vector[0]).tobytes())
        timeout = self.invoke_timeout(len(model.data), inferences)
        self.session.infer(inferences, 0, timeout=timeout)
        return 1

    @staticmethod
    def _outputs(model: ModelFile, values: tuple[float, ...], decimals: int) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        pos = 0
        for spec in model.outputs:
            n = int(np.prod(spec.shape))
            chunk = values[pos : pos + n]
            if len(chunk) != n:
                raise HilError(
                    f"EEMBC results carry {len(values)} values; the model's outputs "
                    f"need {sum(int(np.prod(s.shape)) for s in model.outputs)}"
                )
            pos += n
            if spec.quantized and np.issubdtype(spec.dtype, np.integer):
                data = recover_quantized(chunk, decimals, spec.scale, spec.zero_point, spec.dtype)
            else:
                data = np.asarray(chunk, dtype=spec.dtype)
            out.append(data.reshape(spec.shape))
        if pos != len(values):
            raise HilError(f"EEMBC results carry {len(values)} values, the model's outputs {pos}")
        return out


def _model_key(model: ModelFile, table: Mapping[str, object]) -> str | None:
    """The board file's key for a model: its sha256 or its file stem."""
    for key in (f"sha256:{model.sha256}", model.path.stem):
        if key in table:
            return key
    return None


def prebuilt_image(path: Path, board: str, model: ModelFile, what: str) -> FirmwareImage:
    """A firmware image hil did not build, checked to be an ELF file; its build
    id is a digest of its bytes, so results name exactly what ran."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BoardFileError(f"board {board}: {what}: cannot read {path}: {exc}") from exc
    if data[:4] != b"\x7fELF":
        raise BoardFileError(
            f"board {board}: {what}: {path} is not an ELF file (hil flashes and checks ELF "
            "images; convert Intel HEX or raw binaries with arm-none-eabi-objcopy)"
        )
    digest = hashlib.sha256(data).hexdigest()[:16]
    return FirmwareImage(path, digest, board, "prebuilt", model.path)

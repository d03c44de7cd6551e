"""A model case: which model, which vectors, how close the device must come."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from hil.case.compare import EXACT, Tolerance
from hil.errors import CaseDefinitionError
from hil.firmware.tflm_firmware import ENGINES
from hil.firmware.tflm_resolver import OPS_MODES

# TFLM float kernels on the device and on the host should agree to the bit, but
# libm differences (expf, tanhf) may move the last place: a stated tolerance.
FLOAT_TOLERANCE = Tolerance(atol=1e-6, rtol=1e-5)
MODEL_PLACEMENTS = ("", "upload", "linked")


@dataclass(frozen=True)
class ModelCase:
    """Declare one model to check. `vectors` seeded random vectors (seed
    `seed`) plus any `.npy` files in `inputs` (one file per model input)."""

    model: Path
    name: str = ""
    vectors: int = 10
    seed: int = 0
    inputs: tuple[Path, ...] = ()
    float_range: tuple[float, float] = (-1.0, 1.0)
    litert_lsb: int = 1
    #: Vectors per sequence: device and references are reset to the model's
    #: initial state before every `sequence_length`-th vector (1: before each).
    sequence_length: int = 1
    references: tuple[str, ...] = ("tflm", "litert")
    tolerances: dict[str, Tolerance] = field(default_factory=dict, hash=False)
    #: A labelled dataset for the `check_accuracy` / `check_variants` fixtures
    #: (docs/accuracy.md), and budgets such as {"max_accuracy_drop": "2%"}.
    dataset: Path | str | None = None
    budgets: dict[str, str] = field(default_factory=dict, hash=False)
    #: A prebuilt ELF with hil's agent linked in (docs/own-firmware.md), flashed
    #: for this case instead of the session's image.
    firmware: Path | None = None
    #: Where the model lives on the device: "upload" (sent into RAM over the
    #: link), "linked" (in flash, linked into the image), or "" for the board's
    #: choice (uploaded unless it does not fit the RAM).
    model_placement: str = ""
    #: The engine for this case (hil, tflm, tflm-cmsis-nn) where it is not the
    #: session's (--hil-engine): the case then runs on a device built with it.
    engine: str | None = None
    #: TFLM engines: which operators the image's resolver registers, "all"
    #: builtins or only this "model"'s (None: the session's, --hil-tflm-ops).
    tflm_ops: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", Path(self.model))
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        if self.firmware is not None:
            object.__setattr__(self, "firmware", Path(self.firmware))
        if not self.name:
            object.__setattr__(self, "name", self.model.stem)
        if self.vectors < 0:
            raise CaseDefinitionError(f"vectors must be >= 0, got {self.vectors}")
        if self.model_placement not in MODEL_PLACEMENTS:
            known = ", ".join(repr(p) for p in MODEL_PLACEMENTS)
            got = self.model_placement
            raise CaseDefinitionError(f"model_placement must be one of {known}, got {got!r}")
        if self.engine is not None and self.engine not in ENGINES:
            known = ", ".join(ENGINES)
            raise CaseDefinitionError(f"engine must be one of {known}, got {self.engine!r}")
        if self.tflm_ops is not None and self.tflm_ops not in OPS_MODES:
            known = ", ".join(OPS_MODES)
            raise CaseDefinitionError(f"tflm_ops must be one of {known}, got {self.tflm_ops!r}")
        if self.sequence_length < 1:
            raise CaseDefinitionError(f"sequence_length must be >= 1, got {self.sequence_length}")
        lo, hi = (float(v) for v in self.float_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and math.isfinite(hi - lo)):
            raise CaseDefinitionError(
                f"float range [{lo:g}, {hi:g}] must be two finite numbers, low <= high, "
                "whose difference is finite"
            )

    def tolerance(self, reference: str, is_float: bool) -> Tolerance:
        if reference in self.tolerances:
            return self.tolerances[reference]
        if is_float:
            return FLOAT_TOLERANCE
        return Tolerance(lsb=self.litert_lsb) if reference == "litert" else EXACT

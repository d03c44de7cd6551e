"""One model under several engines (hil's interpreter, TFLM with reference
kernels, TFLM with CMSIS-NN) on the same board and the same inputs: each
engine's agreement with the host oracle, whether the engines' outputs are
identical to each other, and their costs side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.boards.resolve import Resolution
from hil.case.model_case import ModelCase
from hil.case.runner import CaseResult, case_vectors, run_case
from hil.device.dut import Dut
from hil.errors import HilError
from hil.model.file import ModelFile
from hil.references import make_references


@dataclass(frozen=True)
class EngineComparison:
    board: str
    model: Path
    engines: tuple[str, ...]  # as asked for (hil, tflm, tflm-cmsis-nn); [0] is the base
    runs: tuple[CaseResult, ...]  # one per engine, in the same order

    @property
    def base(self) -> CaseResult:
        return self.runs[0]

    def identical_to_base(self, run: CaseResult) -> int:
        """Vectors whose every output tensor equals the base engine's bit for bit."""
        return sum(
            len(a.outputs) == len(b.outputs)
            and all(np.array_equal(x, y) for x, y in zip(a.outputs, b.outputs, strict=True))
            for a, b in zip(self.base.vectors, run.vectors, strict=True)
        )

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def figures(self, engine: str, run: CaseResult) -> dict[str, Any]:
        counter = run.counter()
        return {
            "engine": engine,
            "firmware_engine": run.engine,  # what the image's HELLO says: name and version
            "vectors": len(run.vectors),
            "agreement": {r: run.matched(r) for r in run.references},
            "identical_to_base": self.identical_to_base(run),
            "counter_kind": counter.kind if counter else None,
            "per_inference_median": counter.median if counter else None,
            "load_and_prepare": run.load_cost.value if run.load_cost else None,
            "arena_bytes": run.loaded.arena_used,
            "text_bytes": run.footprint.text if run.footprint else None,
            "flash_bytes": run.footprint.flash if run.footprint else None,
            "firmware_build_id": run.firmware_build_id,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "model": str(self.model),
            "base": self.engines[0],
            "passed": self.passed,
            "engines": [self.figures(e, r) for e, r in zip(self.engines, self.runs, strict=True)],
        }


def compare_engines(
    resolution: Resolution,
    model: Path,
    engines: Sequence[str],
    *,
    vectors: int = 10,
    seed: int = 0,
    float_range: tuple[float, float] = (-1.0, 1.0),
    sequence_length: int = 1,
    timeout: float = 30.0,
    transport: str | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> EngineComparison:
    """Run MODEL under each engine in turn, one device at a time (a board has
    one image at once), on one set of inputs and host references."""
    if len(set(engines)) != len(engines) or len(engines) < 2:
        raise HilError(f"compare-engines needs two or more different engines, got {list(engines)}")
    if resolution.board.protocol != "hil":
        raise HilError(
            f"board {resolution.board.name} speaks the {resolution.board.protocol} protocol, "
            "which runs one prebuilt image; compare-engines builds one image per engine"
        )
    case = ModelCase(
        model,
        vectors=vectors,
        seed=seed,
        float_range=float_range,
        references=("tflm",),
        sequence_length=sequence_length,
    )
    facts = ModelFile(model)
    labelled = case_vectors(case, facts)
    refs, unavailable = make_references(facts.data, len(facts.outputs), case.references)
    if not refs:
        raise HilError(f"no exact host reference for {model.name}: {unavailable}")
    runs = []
    for engine in engines:
        if on_engine:
            on_engine(engine)
        with Dut(resolution, timeout=timeout, engine=engine, transport=transport) as dut:
            runs.append(run_case(dut, case, references=refs, vectors=labelled))
    return EngineComparison(resolution.board.name, model, tuple(engines), tuple(runs))

#!/usr/bin/env python3
"""hil's engine, TFLM with its reference kernels and TFLM with CMSIS-NN, all
measured in this one run on QEMU: per shared model and board, instructions per
inference (QEMU's deterministic count under -icount, warm-up excluded),
instructions to load and prepare the model, arena bytes and firmware .text,
with each TFLM figure's ratio to hil's, and for TFLM the .text of the image
whose resolver registers only the model's operators (`--hil-tflm-ops model`;
built, not run: what a team's minimal resolver needs). The TFLM instruction counts the engine
issue published for the same boards (benchmarks/tflm_reference.toml) are
printed beside the measured ones; a difference of more than 5% is flagged.

Each row is printed as soon as it is measured. Models travel over the memory
transport (the gdbstub), so a large model costs seconds, not minutes; the
counts do not depend on the transport.

    python benchmarks/engine.py [--boards corstone300 mps2-an386] [--models ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.boards import load_board, resolve  # noqa: E402
from hil.case.model_case import ModelCase  # noqa: E402
from hil.case.runner import run_case  # noqa: E402
from hil.device.dut import Dut  # noqa: E402
from hil.errors import HilError  # noqa: E402
from hil.firmware.build import build_firmware  # noqa: E402
from hil.firmware.footprint import footprint  # noqa: E402
from hil.model.file import ModelFile  # noqa: E402

MODELS = Path(os.environ.get("HIL_MODELS", REPO.parent / "shared" / "models"))
PUBLISHED = tomllib.loads((REPO / "benchmarks" / "tflm_reference.toml").read_text())
ENGINES = ("hil", "tflm", "tflm-cmsis-nn")


@dataclass
class Figures:
    minstr: float | None
    load_minstr: float | None
    arena: int | None
    text: int | None
    model_ops_text: int | None  # TFLM: .text with only the model's operators registered
    exact: bool
    transport: str


def measure(dut: Dut, model: Path) -> Figures:
    case = ModelCase(model, vectors=1, seed=0, references=("tflm",))
    result = run_case(dut, case, warmup=1, repeats=1)
    counter = result.counter_summary()
    return Figures(
        minstr=counter["per_inference"]["min"] / 1e6 if counter else None,
        load_minstr=result.load_cost.value / 1e6 if result.load_cost else None,
        arena=result.loaded.arena_used,
        text=result.footprint.text if result.footprint else None,
        model_ops_text=model_ops_text(dut, model),
        exact=result.passed,
        transport=dut.transport_used,
    )


def model_ops_text(dut: Dut, model: Path) -> int | None:
    """.text of the image registering only MODEL's operators (hil's engine: None)."""
    if dut.engine_choice == "hil":
        return None
    ops = ModelFile(model).operator_set
    image = build_firmware(dut.board, engine=dut.engine_choice, tflm_ops=ops)
    return footprint(image.elf).text


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value is not None and base else "n/a"


def published(name: str, board: str, engine: str) -> float | None:
    key = {"tflm": board, "tflm-cmsis-nn": f"{board} cmsis-nn"}.get(engine)
    value = PUBLISHED.get(name, {}).get(key) if key else None
    return float(value) if value is not None else None


HEADER = (
    f"{'model':<32} {'board':<12} {'engine':<14} {'Minstr':>8} {'vs hil':>7} "
    f"{'published':>9} {'load Minstr':>11} {'arena B':>9} {'vs hil':>7} {'.text B':>9} "
    f"{'vs hil':>7} {'model-ops .text':>15}"
)


def row(name: str, board: str, engine: str, f: Figures, hil: Figures | None) -> tuple[str, bool]:
    """The printed row, and whether it shows a problem (outputs differ)."""
    pub = published(name, board, engine)
    notes = []
    if not f.exact:
        notes.append("OUTPUTS DIFFER FROM TFLM HOST")
    if pub is not None and f.minstr is not None and abs(f.minstr / pub - 1) > 0.05:
        notes.append(f"{(f.minstr / pub - 1) * 100:+.1f}% from published")
    if f.transport != "memory":
        notes.append(f"over {f.transport}")
    text = (
        f"{name:<32} {board:<12} {engine:<14} {f.minstr or 0:>8.3f} "
        f"{ratio(f.minstr, hil.minstr if hil else None):>7} "
        f"{pub if pub is not None else 'n/a':>9} {f.load_minstr or 0:>11.3f} "
        f"{f.arena or 0:>9,} {ratio(f.arena, hil.arena if hil else None):>7} "
        f"{f.text or 0:>9,} {ratio(f.text, hil.text if hil else None):>7} "
        f"{f'{f.model_ops_text:,}' if f.model_ops_text is not None else 'n/a':>15}"
        + (f"  {'; '.join(notes)}" if notes else "")
    )
    return text, not f.exact


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", nargs="+", default=["corstone300", "mps2-an386"])
    parser.add_argument(
        "--models", nargs="+", default=sorted(p.stem for p in MODELS.glob("*.tflite"))
    )
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--transport", default="memory", choices=("memory", "serial"))
    args = parser.parse_args()
    print(HEADER, flush=True)
    problems = 0
    for board in args.boards:
        with ExitStack() as stack:
            duts = {
                engine: stack.enter_context(
                    Dut(
                        resolve(load_board(board), "qemu"),
                        timeout=120.0,
                        engine=engine,
                        transport=args.transport,
                    )
                )
                for engine in args.engines
            }
            for name in args.models:
                hil: Figures | None = None
                for engine, dut in duts.items():
                    try:
                        f = measure(dut, MODELS / f"{name}.tflite")
                    except HilError as exc:
                        print(
                            f"{name:<32} {board:<12} {engine:<14} not measured: {exc}", flush=True
                        )
                        problems += 1
                        continue
                    if engine == "hil":
                        hil = f
                    text, problem = row(name, board, engine, f, hil)
                    problems += problem
                    print(text, flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""hil's engine on QEMU against TFLM's reference kernels: per shared model and
board, instructions per inference (QEMU's deterministic count, warm-up excluded),
load-and-prepare instructions, arena bytes, model bytes and firmware .text, each
next to TFLM's figure (benchmarks/tflm_reference.toml) as a ratio.

    python benchmarks/engine.py [--boards corstone300 mps2-an386] [--models ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.boards import load_board, resolve  # noqa: E402
from hil.cases import ModelCase  # noqa: E402
from hil.dut import Dut  # noqa: E402
from hil.runner import run_case  # noqa: E402

MODELS = Path(os.environ.get("HIL_MODELS", REPO.parent / "shared" / "models"))
REFERENCE = tomllib.loads((REPO / "benchmarks" / "tflm_reference.toml").read_text())


def ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.2f}" if ours is not None and theirs else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", nargs="+", default=["corstone300", "mps2-an386"])
    parser.add_argument("--models", nargs="+", default=list(REFERENCE))
    args = parser.parse_args()
    header = (
        f"{'model':<32} {'board':<12} {'Minstr':>8} {'TFLM':>7} {'ratio':>6} "
        f"{'load Minstr':>11} {'arena B':>9} {'TFLM B':>8} {'ratio':>6} "
        f"{'model B':>9} {'.text B':>8}"
    )
    print(header)
    failures = 0
    for board in args.boards:
        with Dut(resolve(load_board(board), "qemu"), timeout=60.0) as dut:
            for name in args.models:
                ref = REFERENCE.get(name, {})
                case = ModelCase(MODELS / f"{name}.tflite", vectors=1, seed=0, references=("tflm",))
                result = run_case(dut, case, warmup=1, repeats=1)
                if not result.passed:
                    failures += 1
                counter = result.counter_summary()
                minstr = counter["per_inference"]["min"] / 1e6 if counter else None
                load = result.load_cost.value / 1e6 if result.load_cost else None
                arena = result.loaded.arena_used
                text = result.footprint.text if result.footprint else None
                tflm_minstr = ref.get(board)
                print(
                    f"{name:<32} {board:<12} {minstr or 0:>8.2f} {tflm_minstr or 0:>7.2f} "
                    f"{ratio(minstr, tflm_minstr):>6} {load or 0:>11.3f} {arena or 0:>9,} "
                    f"{ref.get('arena', 0):>8,} {ratio(arena, ref.get('arena')):>6} "
                    f"{len(result.model.data):>9,} {text or 0:>8,}"
                    + ("" if result.passed else "  OUTPUTS DIFFER FROM TFLM")
                )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

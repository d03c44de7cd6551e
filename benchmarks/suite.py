#!/usr/bin/env python3
"""Wall time of whole model cases, serial link against memory transport, in
one run: MLPerf Tiny VWW and KWS with 20 and 100 seeded vectors on one board,
each case end to end on a fresh device (start, model upload, every vector,
host references), phase by phase (build, boot, model load, inputs, inference,
outputs, references; "other" is the rest: vectors, comparisons, footprint).
Prints each phase's seconds and share of the case's wall time per transport,
and the serial/memory ratio side by side.

The firmware is built once before anything is timed, so both transports see
the same cached build. Runs alternate serial and memory; with --rounds N each
case runs N times per transport in ABBA order and the run of median wall time
is shown, so a machine whose load changes slows both alike.

    python benchmarks/suite.py [--board corstone300] [--vectors 20 100]
        [--models vww kws] [--rounds 3] [--engine ENGINE] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.boards import load_board, resolve  # noqa: E402
from hil.case.model_case import ModelCase  # noqa: E402
from hil.case.runner import run_case  # noqa: E402
from hil.device.dut import Dut  # noqa: E402
from hil.firmware.build import build_firmware  # noqa: E402
from hil.firmware.engine_choice import choose_engine  # noqa: E402
from hil.firmware.tflm_firmware import ENGINES  # noqa: E402
from hil.measurements.phases import PHASES  # noqa: E402

MODELS_DIR = Path(os.environ.get("HIL_MODELS", REPO.parent / "shared" / "models"))
MODELS = {
    "vww": "mlperf_tiny_vww_mobilenet_int8.tflite",
    "kws": "mlperf_tiny_kws_ds_cnn_int8.tflite",
}
TRANSPORTS = ("serial", "memory")


@dataclass
class Run:
    model: str
    vectors: int
    transport: str  # what carried the bytes (transport_used)
    wall: float
    phases: dict[str, float]
    passed: bool

    @property
    def other(self) -> float:
        return max(self.wall - sum(self.phases.values()), 0.0)


def one_case(board: str, model: Path, vectors: int, transport: str, engine: str) -> Run:
    """A case from nothing: device start, load, vectors, references, close."""
    resolution = resolve(load_board(board), "qemu")
    started = time.perf_counter()
    with Dut(resolution, timeout=60.0, engine=engine, transport=transport) as dut:
        result = run_case(dut, ModelCase(model, vectors=vectors, seed=0))
        wall = time.perf_counter() - started
        used = dut.transport_used
        phases = dut.phases.take()
    return Run(model.stem, vectors, used, wall, phases, result.passed)


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (the lower middle one of an even count)."""
    walls = sorted(r.wall for r in runs)
    middle = walls[(len(walls) - 1) // 2]
    return next(r for r in runs if r.wall == middle)


def share(seconds: float, wall: float) -> str:
    return f"{seconds:8.2f} {seconds / wall:6.1%}"


def report(serial: Run, memory: Run, rounds: int = 1) -> list[str]:
    title = (
        f"{serial.model} x{serial.vectors} vectors: serial {serial.wall:.1f} s, "
        f"memory {memory.wall:.1f} s, {serial.wall / memory.wall:.1f}x faster end to end"
        + (f" (median of {rounds} runs each)" if rounds > 1 else "")
    )
    lines = [title, f"  {'phase':<11} {'serial s':>8} {'share':>6}  {'memory s':>8} {'share':>6}"
             f"  {'serial/memory':>13}"]  # fmt: skip
    for name in (*PHASES, "other"):
        s = serial.other if name == "other" else serial.phases.get(name, 0.0)
        m = memory.other if name == "other" else memory.phases.get(name, 0.0)
        ratio = f"{s / m:12.1f}x" if m > 0 else f"{'n/a':>13}"
        lines.append(f"  {name:<11} {share(s, serial.wall)}  {share(m, memory.wall)}  {ratio}")
    s, m = serial.wall, memory.wall
    lines.append(f"  {'wall':<11} {s:8.2f} {'':>6}  {m:8.2f} {'':>6}  {s / m:12.1f}x")
    for run in (serial, memory):
        if not run.passed:
            lines.append(f"  the device disagreed with the host over {run.transport}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--board", default="corstone300")
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS))
    parser.add_argument("--vectors", nargs="+", type=int, default=[20, 100])
    parser.add_argument("--rounds", type=int, default=1, help="runs per transport (median)")
    parser.add_argument("--engine", choices=tuple(ENGINES), default=None)
    parser.add_argument("--json", metavar="OUT", help="write every run's phases as JSON")
    args = parser.parse_args()
    board = load_board(args.board)
    engine = choose_engine(board, args.engine).engine
    build_started = time.perf_counter()
    image = build_firmware(board, "release", engine=engine)  # once, before timing
    print(f"{resolve(board, 'qemu').describe()}; engine {engine}; firmware {image.build_id} "
          f"ready in {time.perf_counter() - build_started:.1f} s (before timing)")  # fmt: skip
    runs: list[Run] = []
    failed = False
    for key in args.models:
        model = MODELS_DIR / MODELS[key]
        for vectors in args.vectors:
            done: dict[str, list[Run]] = {t: [] for t in TRANSPORTS}
            for n in range(args.rounds):  # ABBA: serial, memory, memory, serial, ...
                for wanted in TRANSPORTS if n % 2 == 0 else TRANSPORTS[::-1]:
                    run = one_case(args.board, model, vectors, wanted, engine)
                    done[wanted].append(run)
                    if run.transport != wanted:
                        print(f"{model.stem}: asked for {wanted}, ran over {run.transport}")
                        failed = True
                    failed |= not run.passed
            runs += [r for t in TRANSPORTS for r in done[t]]
            pair = {t: median_run(done[t]) for t in TRANSPORTS}
            print("\n".join(report(pair["serial"], pair["memory"], args.rounds)), flush=True)
    if args.json:
        out = [{**asdict(r), "other": r.other} for r in runs]
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

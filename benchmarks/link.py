#!/usr/bin/env python3
"""Host-to-device throughput on one QEMU link, measured side by side in one run:
raw bytes, hil's binary protocol (SET_INPUT) and the EEMBC hex text (db load /
db <hex>) on the serial link, and raw bytes and SET_INPUT over the memory
transport (the mailbox through QEMU's gdbstub), each as tensor bytes per second
and as a fraction of raw serial.

    python benchmarks/link.py [--board corstone300] [--kib 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema  # noqa: E402

from hil.boards import load_board, resolve  # noqa: E402
from hil.device.dut import Dut  # noqa: E402
from hil.device.eembc import EembcDut  # noqa: E402
from hil.model.file import ModelFile  # noqa: E402
from tests.model_builder import ModelBuilder  # noqa: E402


def wide_input_model(n: int) -> bytes:
    """int8 [1, n] -> FULLY_CONNECTED -> [1, 1]: a model whose input is n bytes."""
    b = ModelBuilder()
    x = b.tensor((1, n), np.int8, scale=0.05, zero_point=0, name="x")
    w = b.tensor((1, n), np.int8, data=np.ones((1, n), np.int8), scale=0.01, zero_point=0)
    y = b.tensor((1, 1), np.int8, scale=50.0, zero_point=0, name="y")
    b.operator(
        schema.BuiltinOperator.FULLY_CONNECTED,
        [x, w, -1],
        [y],
        schema.BuiltinOptions.FullyConnectedOptions,
        schema.FullyConnectedOptionsT(),
    )
    b.inputs, b.outputs = [x], [y]
    return b.build()


def interleaved(actions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each action, run in turn round after round, so that a
    busy machine slows all of them alike and the ratios stay fair."""
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--board", default="corstone300")
    parser.add_argument("--kib", type=int, default=16, help="tensor size in KiB")
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (median)")
    args = parser.parse_args()
    size = args.kib * 1024
    data = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"wide_input_{size}.tflite"
        path.write_bytes(wide_input_model(size))
        model = ModelFile(path)
        resolution = resolve(load_board(args.board), "qemu")
        with (
            Dut(resolution, variant="test", timeout=60.0, transport="serial") as dut,
            Dut(resolution, variant="test", timeout=60.0, transport="memory") as mem,
            EembcDut(resolution, timeout=60.0) as eembc,
        ):
            if mem.transport_used != "memory":
                print("the memory transport is not available on this board", file=sys.stderr)
                return 1
            dut.load(model)
            mem.load(model)
            eembc.load(model)
            medians = interleaved(
                {
                    "raw bytes (DEBUG SINK)": lambda: dut.session.sink(data, timeout=120.0),
                    "hil protocol (SET_INPUT)": lambda: dut.session.set_input(0, data),
                    "EEMBC hex text (db load, db)": lambda: eembc.session.load(data),
                    "memory: raw bytes (DEBUG SINK)": lambda: mem.session.sink(data, timeout=120.0),
                    "memory: hil protocol (SET_INPUT)": lambda: mem.session.set_input(0, data),
                },
                args.runs,
            )
    raw = medians["raw bytes (DEBUG SINK)"]
    print(
        f"host -> device, {size:,} tensor bytes, median of {args.runs} interleaved rounds, "
        f"{resolution.describe()}"
    )
    print(f"{'method':<34} {'seconds':>8} {'bytes/s':>10} {'of raw':>7}")
    for name, seconds in medians.items():
        print(f"{name:<34} {seconds:>8.3f} {size / seconds:>10,.0f} {raw / seconds:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the single-operator kernel tests (test_kernels_*.py): build a
one-op model, run it on TFLM's host interpreter (the oracle) and on hil's
host engine, and compare."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.devtools.engine_host import EngineError, HostEngine
from tests.model_builder import ModelBuilder

OPS = schema.BuiltinOperator
OPTS = schema.BuiltinOptions
ORACLE_ARENA = 1 << 20
ENGINE_ARENA = 1 << 20

INT_RANGES = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.int16): (-32768, 32767),
    np.dtype(np.int32): (-(2**31), 2**31 - 1),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int64): (-(2**40), 2**40),
}


@dataclass
class T:
    """A tensor of a one-op model: shape, type, quantization, optional data."""

    shape: tuple[int, ...]
    dtype: type | np.dtype
    scale: float | None = None
    zero_point: int = 0
    data: np.ndarray | None = None  # constant when given

    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)


@dataclass
class OneOp:
    """A single-operator model and the description used to print failures."""

    code: int
    inputs: list[T]
    outputs: list[T]
    options_type: int = 0
    options: object = None
    info: dict = field(default_factory=dict)

    def build(self) -> bytes:
        b = ModelBuilder()
        ins, outs, graph_in = [], [], []
        for i, t in enumerate(self.inputs):
            idx = b.tensor(
                t.shape, t.dtype, data=t.data, scale=t.scale, zero_point=t.zero_point, name=f"in{i}"
            )
            ins.append(idx)
            if t.data is None:
                graph_in.append(idx)
        for i, t in enumerate(self.outputs):
            outs.append(
                b.tensor(t.shape, t.dtype, scale=t.scale, zero_point=t.zero_point, name=f"out{i}")
            )
        b.operator(self.code, ins, outs, self.options_type, self.options)
        b.inputs, b.outputs = graph_in, outs
        return b.build()

    def graph_inputs(self) -> list[T]:
        return [t for t in self.inputs if t.data is None]


def random_data(rng: np.random.Generator, t: T, spread: float = 1.0) -> np.ndarray:
    dt = t.np_dtype()
    if dt == np.float32:
        scale = 10 ** rng.uniform(-2, 2) * spread
        return (rng.standard_normal(t.shape) * scale).astype(np.float32)
    lo, hi = INT_RANGES[dt]
    if dt == np.int32:
        lo, hi = -(2**20), 2**20
    return rng.integers(lo, hi, size=t.shape, endpoint=True, dtype=np.int64).astype(dt)


def run_oracle(model: bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    tflm = runtime.Interpreter.from_bytes(model, arena_size=ORACLE_ARENA)
    for i, x in enumerate(inputs):
        tflm.set_input(x, i)
    tflm.invoke()
    return [tflm.get_output(0).copy()]


def run_engine(engine: HostEngine, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    for i, x in enumerate(inputs):
        engine.set_input(i, x)
    engine.invoke()
    return [engine.get_output(0)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def compare(
    case: OneOp,
    rng: np.random.Generator,
    runs: int = 2,
    atol_ulp: int = 0,
    data_fn=None,
) -> None:
    """Run `case` on both engines with `runs` random inputs; raise
    AssertionError naming the parameters on the first difference."""
    model = case.build()
    try:
        engine = HostEngine(model, ENGINE_ARENA)
    except EngineError as exc:
        raise AssertionError(f"engine refused {case.info}: {exc}") from exc
    tflm = runtime.Interpreter.from_bytes(model, arena_size=ORACLE_ARENA)
    try:
        for _ in range(runs):
            inputs = [
                data_fn(rng, t) if data_fn else random_data(rng, t) for t in case.graph_inputs()
            ]
            for i, x in enumerate(inputs):
                tflm.set_input(x, i)
            tflm.invoke()
            expected = tflm.get_output(0).copy()
            actual = run_engine(engine, inputs)[0]
            if atol_ulp == 0:
                ok = same_bits(expected, actual)
            else:
                ok = expected.shape == actual.shape and ulp_close(expected, actual, atol_ulp)
            if not ok:
                diff = np.nonzero(
                    expected.view(np.uint8 if expected.itemsize == 1 else f"u{expected.itemsize}")
                    != actual.view(np.uint8 if actual.itemsize == 1 else f"u{actual.itemsize}")
                )
                where = tuple(int(x[0]) for x in diff) if diff[0].size else ()
                raise AssertionError(
                    f"mismatch for {case.info}\n first differing index {where}: "
                    f"tflm={expected[where] if where else expected} "
                    f"hil={actual[where] if where else actual}\n"
                    f" inputs at index: {[x.flat[:8] for x in inputs]}"
                )
    finally:
        engine.close()


def ulp_close(a: np.ndarray, b: np.ndarray, ulps: int) -> bool:
    """Float arrays equal within `ulps` units in the last place (NaN == NaN)."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    both_nan = np.isnan(a) & np.isnan(b)
    ia = a.view(np.int32).astype(np.int64)
    ib = b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2**31) - ia, ia)
    ib = np.where(ib < 0, -(2**31) - ib, ib)
    return bool(np.all(both_nan | (np.abs(ia - ib) <= ulps)))


def oracle_refuses(model: bytes) -> bool:
    """True when TFLM's interpreter fails to prepare the model. Under an
    AddressSanitizer run (HIL_SANITIZE=1) TFLM's C++ exception cannot be
    thrown, so the check is skipped (reported as a refusal)."""
    if os.environ.get("HIL_SANITIZE") == "1":
        return True
    try:
        runtime.Interpreter.from_bytes(model, arena_size=ORACLE_ARENA)
    except Exception:
        return True
    return False


def engine_error(model: bytes) -> EngineError:
    try:
        HostEngine(model, ENGINE_ARENA).close()
    except EngineError as exc:
        return exc
    raise AssertionError("the engine accepted the model")


# -- random parameters ----------------------------------------------------------------


def rand_scale(rng: np.random.Generator, lo: float = -3.0, hi: float = 0.5) -> float:
    return float(np.float32(10 ** rng.uniform(lo, hi)))


def rand_zp(rng: np.random.Generator, dtype: np.dtype) -> int:
    dt = np.dtype(dtype)
    if dt == np.int16:
        return 0 if rng.random() < 0.6 else int(rng.integers(-1000, 1000))
    lo, hi = INT_RANGES[dt]
    if rng.random() < 0.15:
        return int(rng.choice([lo, hi, 0]))
    return int(rng.integers(lo, hi, endpoint=True))


def rand_shape(rng: np.random.Generator, rank: int, max_dim: int = 6) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, max_dim + 1, size=rank))


def broadcast_pair(
    rng: np.random.Generator, max_rank: int = 6, max_dim: int = 5
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast (ranks may differ), and their broadcast."""
    rank = int(rng.integers(0, max_rank + 1))
    out = rand_shape(rng, rank, max_dim)
    a, b = list(out), list(out)
    for k in range(rank):
        r = rng.random()
        if r < 0.2:
            a[k] = 1
        elif r < 0.4:
            b[k] = 1
    if rank and rng.random() < 0.3:  # drop leading dims of one side
        cut = int(rng.integers(0, rank + 1))
        if rng.random() < 0.5:
            a = a[cut:]
        else:
            b = b[cut:]
    full = tuple(int(x) for x in np.broadcast_shapes(tuple(a), tuple(b)))
    return tuple(a), tuple(b), full

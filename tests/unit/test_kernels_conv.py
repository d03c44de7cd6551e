"""CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV in hil's engine (host build)
against TFLM's host interpreter, the oracle.

Property tests: seeded random single-operator models (shapes from 1x1 up,
odd sizes, channels, strides, dilations, SAME/VALID, depth multipliers,
groups, fused activations, per-channel and per-tensor scales, zero points,
with and without bias), each run on two random inputs. int8 and int16 must
be bit-exact; float32 too (tolerance 0: the engine sums in TFLM's order and
is built with -ffp-contract=off), compared bit for bit. A failure prints
the case's parameters and seed, so it reproduces.

Also: refusals and hostile options (exact messages), fuzzed models under
ASan/UBSan, every convolution layer of the real models, the whole MLPerf
Tiny models once every operator they use exists, and (marked e2e) random
models on the QEMU Cortex-M4 / M55 boards, whose kernels take the Arm DSP
paths the host build does not."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.devtools.engine_host import EngineError, HostEngine, asan_env, build_library
from hil.errors import Status, ToolMissingError
from tests.model_builder import ModelBuilder

REPO = Path(__file__).resolve().parents[2]
OP = schema.BuiltinOperator
OPTS = schema.BuiltinOptions
ARENA = 512 * 1024
CASES_INT8 = 300  # per operator
CASES_FLOAT = 150
CASES_INT16 = 80


# -- case generation ---------------------------------------------------------------


class _AlignedBuffer(schema.BufferT):
    """A buffer whose data starts 16-byte aligned, as the TFLite converter
    writes them (the engine requires int64 biases to be 8-byte aligned)."""

    def Pack(self, builder):
        if self.data is None:
            return super().Pack(builder)
        raw = bytes(bytearray(self.data))
        builder.StartVector(1, len(raw), 16)
        builder.head -= len(raw)
        builder.Bytes[builder.head : builder.head + len(raw)] = raw
        data = builder.EndVector()
        schema.BufferStart(builder)
        schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


class AlignedModelBuilder(ModelBuilder):
    def build(self) -> bytes:
        aligned = []
        for buf in self.buffers:
            a = _AlignedBuffer()
            a.data = buf.data
            aligned.append(a)
        self.buffers = aligned
        return super().build()


@dataclasses.dataclass
class Case:
    """One generated model and what it was made from."""

    op: str
    dtype: str  # activations: "int8", "int16" or "float32"
    params: dict[str, object]
    model: bytes
    input_shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.op} {self.dtype} {json.dumps(self.params, sort_keys=True)}"


def f32(v: float) -> float:
    return float(np.float32(v))


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return f32(10 ** rng.uniform(lo, hi))


def conv_out_size(padding: int, size: int, filt: int, stride: int, dilation: int) -> int:
    eff = (filt - 1) * dilation + 1
    if padding == schema.Padding.SAME:
        return -(-size // stride)
    return (size - eff) // stride + 1


def pick_spatial(rng: np.random.Generator, padding: int, dilated: bool) -> dict[str, int]:
    """Input size, filter size, stride and dilation along one axis, such
    that VALID still yields at least one output pixel."""
    while True:
        size = int(rng.choice([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]))
        filt = int(rng.choice([1, 1, 2, 3, 3, 3, 4, 5]))
        stride = int(rng.choice([1, 1, 1, 2, 2, 3]))
        dilation = int(rng.choice([1, 1, 1, 2, 3])) if dilated else 1
        if conv_out_size(padding, size, filt, stride, dilation) >= 1:
            return {"in": size, "filter": filt, "stride": stride, "dilation": dilation}


def quant_params(
    rng: np.random.Generator, dtype: str, out_c: int, taps: int, per_channel_ok: bool = True
) -> dict[str, object]:
    """Scales and zero points that keep most outputs off the rails."""
    in_scale = log_uniform(rng, -2.5, -0.5)
    per_channel = per_channel_ok and out_c > 1 and rng.random() < 0.5
    if per_channel:
        f_scales = [log_uniform(rng, -3, -1) for _ in range(out_c)]
    else:
        f_scales = [log_uniform(rng, -3, -1)]
    if dtype == "int8":
        in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        spread = 5400.0  # ~ |(x - zp) * w| for uniform int8 data
        levels = 40.0
    else:
        in_zp = out_zp = 0
        spread = 32768 * 73.0
        levels = 10000.0
    typical = float(np.median(f_scales)) * in_scale * spread * np.sqrt(taps)
    out_scale = f32(typical / levels * 10 ** rng.uniform(-0.7, 0.7))
    # TFLM ignores the filter zero point; a few per-tensor cases carry one.
    f_zp = [0] * len(f_scales)
    if not per_channel and dtype == "int8" and rng.random() < 0.1:
        f_zp = [int(rng.integers(-5, 6))]
    return {
        "in_scale": in_scale,
        "in_zp": in_zp,
        "out_scale": out_scale,
        "out_zp": out_zp,
        "f_scales": f_scales,
        "f_zp": f_zp,
        "per_channel": per_channel,
    }


def np_dtype(dtype: str) -> type:
    return {"int8": np.int8, "int16": np.int16, "float32": np.float32}[dtype]


def add_tensors(
    b: ModelBuilder,
    rng: np.random.Generator,
    dtype: str,
    in_shape: tuple[int, ...],
    filter_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    out_c: int,
    quant_dim: int,
    taps: int,
    bias_kind: str,
    p: dict[str, object],
) -> tuple[int, int, int | None, int]:
    """Input, filter, optional bias and output tensors; records in `p`."""
    if dtype == "float32":
        x = b.tensor(in_shape, np.float32, name="x")
        w_data = (rng.standard_normal(filter_shape) * rng.uniform(0.1, 2)).astype(np.float32)
        w = b.tensor(filter_shape, np.float32, data=w_data, name="w")
        bias = None
        if bias_kind != "none":
            bias_data = (rng.standard_normal(out_c) * rng.uniform(0.1, 3)).astype(np.float32)
            bias = b.tensor((out_c,), np.float32, data=bias_data, name="bias")
        y = b.tensor(out_shape, np.float32, name="y")
        return x, w, bias, y
    q = quant_params(rng, dtype, out_c, taps)
    p.update(q)
    act = np_dtype(dtype)
    x = b.tensor(in_shape, act, scale=q["in_scale"], zero_point=q["in_zp"], name="x")
    w_data = rng.integers(-127, 128, filter_shape).astype(np.int8)
    w = b.tensor(
        filter_shape,
        np.int8,
        data=w_data,
        scale=q["f_scales"],
        zero_point=q["f_zp"],
        quantized_dimension=quant_dim,
        name="w",
    )
    bias = None
    if bias_kind != "none":
        bias_type = {"int16": np.int16, "int32": np.int32, "int64": np.int64}[bias_kind]
        top = 4 if bias_kind == "int16" else (5 if dtype == "int8" else 7)
        magnitude = 10 ** rng.uniform(1, top)
        values = rng.integers(-int(magnitude), int(magnitude) + 1, out_c)
        bias_scales = [f32(q["in_scale"] * s) for s in q["f_scales"]]
        bias = b.tensor(
            (out_c,),
            bias_type,
            data=values.astype(bias_type),
            scale=bias_scales,
            zero_point=[0] * len(bias_scales),
            quantized_dimension=0,
            name="bias",
        )
    y = b.tensor(out_shape, act, scale=q["out_scale"], zero_point=q["out_zp"], name="y")
    return x, w, bias, y


def pick_bias(rng: np.random.Generator, dtype: str, op: str) -> str:
    if rng.random() < 0.2:
        return "none"
    if dtype == "int16":
        other = {"CONV_2D": "int32", "TRANSPOSE_CONV": "int16"}.get(op)
        return other if other and rng.random() < 0.5 else "int64"
    return "int32" if dtype == "int8" else "float32"


def conv_case(rng: np.random.Generator, dtype: str) -> Case:
    padding = int(rng.integers(0, 2))
    hh, ww = pick_spatial(rng, padding, True), pick_spatial(rng, padding, True)
    batch = int(rng.choice([1, 1, 1, 2]))
    depth = int(rng.integers(1, 9))
    groups = int(rng.choice([1, 1, 1, 1, 2, 3]))
    out_c = groups * int(rng.integers(1, 5)) if groups > 1 else int(rng.integers(1, 10))
    in_c = depth * groups
    act = int(rng.integers(0, 4))
    bias_kind = pick_bias(rng, dtype, "CONV_2D")
    oh = conv_out_size(padding, hh["in"], hh["filter"], hh["stride"], hh["dilation"])
    ow = conv_out_size(padding, ww["in"], ww["filter"], ww["stride"], ww["dilation"])
    p: dict[str, object] = {
        "padding": padding, "h": hh, "w": ww, "batch": batch, "in_c": in_c, "out_c": out_c,
        "groups": groups, "act": act, "bias": bias_kind,
    }  # fmt: skip
    b = AlignedModelBuilder()
    in_shape = (batch, hh["in"], ww["in"], in_c)
    f_shape = (out_c, hh["filter"], ww["filter"], depth)
    taps = hh["filter"] * ww["filter"] * depth
    x, w, bias, y = add_tensors(
        b, rng, dtype, in_shape, f_shape, (batch, oh, ow, out_c), out_c, 0, taps, bias_kind, p
    )
    o = schema.Conv2DOptionsT()
    o.padding, o.strideH, o.strideW = padding, hh["stride"], ww["stride"]
    o.dilationHFactor, o.dilationWFactor = hh["dilation"], ww["dilation"]
    o.fusedActivationFunction = act
    inputs = [x, w] + ([bias] if bias is not None else ([-1] if rng.random() < 0.5 else []))
    b.operator(OP.CONV_2D, inputs, [y], OPTS.Conv2DOptions, o)
    b.inputs, b.outputs = [x], [y]
    return Case("CONV_2D", dtype, p, b.build(), in_shape)


def depthwise_case(rng: np.random.Generator, dtype: str) -> Case:
    padding = int(rng.integers(0, 2))
    hh, ww = pick_spatial(rng, padding, True), pick_spatial(rng, padding, True)
    batch = int(rng.choice([1, 1, 1, 2]))
    in_c = int(rng.integers(1, 9))
    mult = int(rng.choice([1, 1, 1, 2, 3]))
    out_c = in_c * mult
    act = int(rng.integers(0, 4))
    bias_kind = pick_bias(rng, dtype, "DEPTHWISE_CONV_2D")
    oh = conv_out_size(padding, hh["in"], hh["filter"], hh["stride"], hh["dilation"])
    ow = conv_out_size(padding, ww["in"], ww["filter"], ww["stride"], ww["dilation"])
    p: dict[str, object] = {
        "padding": padding, "h": hh, "w": ww, "batch": batch, "in_c": in_c,
        "multiplier": mult, "act": act, "bias": bias_kind,
    }  # fmt: skip
    b = AlignedModelBuilder()
    in_shape = (batch, hh["in"], ww["in"], in_c)
    f_shape = (1, hh["filter"], ww["filter"], out_c)
    taps = hh["filter"] * ww["filter"]
    x, w, bias, y = add_tensors(
        b, rng, dtype, in_shape, f_shape, (batch, oh, ow, out_c), out_c, 3, taps, bias_kind, p
    )
    o = schema.DepthwiseConv2DOptionsT()
    o.padding, o.strideH, o.strideW = padding, hh["stride"], ww["stride"]
    o.dilationHFactor, o.dilationWFactor = hh["dilation"], ww["dilation"]
    o.depthMultiplier, o.fusedActivationFunction = mult, act
    inputs = [x, w] + ([bias] if bias is not None else [])
    b.operator(OP.DEPTHWISE_CONV_2D, inputs, [y], OPTS.DepthwiseConv2DOptions, o)
    b.inputs, b.outputs = [x], [y]
    return Case("DEPTHWISE_CONV_2D", dtype, p, b.build(), in_shape)


def tconv_out_size(rng: np.random.Generator, padding: int, size: int, filt: int, stride: int):
    """An output size whose SAME/VALID input size is `size` (the converter's
    rule), or now and then any size (TFLM does not check it)."""
    if rng.random() < 0.1:
        return int(rng.integers(1, size * stride + filt + 2))
    if padding == schema.Padding.SAME:
        return (size - 1) * stride + int(rng.integers(1, stride + 1))
    return (size - 1) * stride + filt + int(rng.integers(0, stride))


def tconv_case(rng: np.random.Generator, dtype: str) -> Case:
    padding = int(rng.integers(0, 2))
    batch = int(rng.choice([1, 1, 1, 2]))
    axes = []
    for _ in range(2):
        size = int(rng.choice([1, 1, 2, 3, 4, 5, 6, 7]))
        filt = int(rng.choice([1, 2, 3, 3, 4, 5]))
        stride = int(rng.choice([1, 1, 2, 2, 3]))
        out = tconv_out_size(rng, padding, size, filt, stride)
        axes.append({"in": size, "filter": filt, "stride": stride, "out": out})
    hh, ww = axes
    in_c, out_c = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    act = int(rng.integers(0, 4))
    bias_kind = pick_bias(rng, dtype, "TRANSPOSE_CONV")
    p: dict[str, object] = {
        "padding": padding, "h": hh, "w": ww, "batch": batch, "in_c": in_c, "out_c": out_c,
        "act": act, "bias": bias_kind,
    }  # fmt: skip
    b = AlignedModelBuilder()
    out_shape = (batch, hh["out"], ww["out"], out_c)
    shape_t = b.tensor((4,), np.int32, data=np.array(out_shape, np.int32), name="output_shape")
    in_shape = (batch, hh["in"], ww["in"], in_c)
    f_shape = (out_c, hh["filter"], ww["filter"], in_c)
    taps = -(-hh["filter"] // hh["stride"]) * -(-ww["filter"] // ww["stride"]) * in_c
    x, w, bias, y = add_tensors(
        b, rng, dtype, in_shape, f_shape, out_shape, out_c, 0, taps, bias_kind, p
    )
    o = schema.TransposeConvOptionsT()
    o.padding, o.strideH, o.strideW = padding, hh["stride"], ww["stride"]
    o.fusedActivationFunction = act
    inputs = [shape_t, w, x] + ([bias] if bias is not None else [])
    b.operator(OP.TRANSPOSE_CONV, inputs, [y], OPTS.TransposeConvOptions, o)
    b.inputs, b.outputs = [x], [y]
    return Case("TRANSPOSE_CONV", dtype, p, b.build(), in_shape)


GENERATORS = {"CONV_2D": conv_case, "DEPTHWISE_CONV_2D": depthwise_case,
              "TRANSPOSE_CONV": tconv_case}  # fmt: skip


def random_input(rng: np.random.Generator, case: Case) -> np.ndarray:
    if case.dtype == "float32":
        return (rng.standard_normal(case.input_shape) * rng.uniform(0.1, 4)).astype(np.float32)
    info = np.iinfo(np_dtype(case.dtype))
    return rng.integers(info.min, info.max + 1, case.input_shape).astype(np_dtype(case.dtype))


# -- running both ------------------------------------------------------------------


def run_tflm(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    tflm = runtime.Interpreter.from_bytes(model, arena_size=ARENA)
    out = []
    for x in inputs:
        tflm.set_input(x, 0)
        tflm.invoke()
        out.append(tflm.get_output(0).copy())
    return out


def run_hil(engine: HostEngine, model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    engine.load(model)
    out = []
    for x in inputs:
        engine.set_input(0, x)
        engine.invoke()
        out.append(engine.get_output(0))
    engine.unload()
    return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_random_cases(op: str, dtype: str, count: int, seed: int) -> dict[str, int]:
    """Generate `count` models, run each on two inputs in both engines and
    require identical bits. Returns statistics about what was covered."""
    rng = np.random.default_rng(seed)
    stats = {"models": 0, "runs": 0, "distinct_outputs": 0, "clamped": 0}
    bias_kinds: dict[str, int] = {}
    with HostEngine(arena_bytes=ARENA) as engine:
        for i in range(count):
            case = GENERATORS[op](rng, dtype)
            inputs = [random_input(rng, case) for _ in range(2)]
            where = f"case {i} (seed {seed}): {case.describe()}"
            try:
                actual = run_hil(engine, case.model, inputs)
            except EngineError as exc:
                pytest.fail(f"{where}\nengine refused: {exc}")
            expected = run_tflm(case.model, inputs)
            for k, (e, a) in enumerate(zip(expected, actual, strict=True)):
                if not same_bits(e, a):
                    diff = np.flatnonzero(e.ravel() != a.ravel())
                    first = int(diff[0]) if len(diff) else -1
                    pytest.fail(
                        f"{where}\ninput {k}: {len(diff)} of {e.size} elements differ, first at "
                        f"flat index {first}: TFLM {e.ravel()[first]} hil {a.ravel()[first]}"
                    )
                stats["distinct_outputs"] += len(np.unique(e))
                if case.dtype != "float32":
                    info = np.iinfo(e.dtype)
                    stats["clamped"] += int(np.sum((e == info.min) | (e == info.max)))
            stats["models"] += 1
            stats["runs"] += len(inputs)
            kind = str(case.params["bias"])
            bias_kinds[kind] = bias_kinds.get(kind, 0) + 1
    stats.update({f"bias_{k}": v for k, v in sorted(bias_kinds.items())})
    return stats


@pytest.mark.parametrize("op", list(GENERATORS))
def test_random_int8_models_bit_exact(op: str) -> None:
    stats = check_random_cases(op, "int8", CASES_INT8, seed=1000 + list(GENERATORS).index(op))
    print(f"\n{op} int8: {stats}")
    assert stats["models"] == CASES_INT8 and stats["runs"] == 2 * CASES_INT8
    assert stats["distinct_outputs"] > 20 * CASES_INT8  # outputs are not all on the rails


@pytest.mark.parametrize("op", list(GENERATORS))
def test_random_float_models_bit_exact(op: str) -> None:
    stats = check_random_cases(op, "float32", CASES_FLOAT, seed=2000 + list(GENERATORS).index(op))
    print(f"\n{op} float32: {stats}")
    assert stats["models"] == CASES_FLOAT


@pytest.mark.parametrize("op", list(GENERATORS))
def test_random_int16_models_bit_exact(op: str) -> None:
    stats = check_random_cases(op, "int16", CASES_INT16, seed=3000 + list(GENERATORS).index(op))
    print(f"\n{op} int16: {stats}")
    assert stats["models"] == CASES_INT16


# -- the effective-scale rule --------------------------------------------------------


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier (m > 0), for the test's own predictions."""
    significand, shift = np.frexp(m)
    fixed = int(np.floor(float(significand) * 2**31 + 0.5))
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    return fixed, int(shift)


def requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for acc >= 0 and shift <= 0."""
    high = (acc * multiplier + (1 << 30)) >> 31
    mask = (1 << -shift) - 1
    return (high >> -shift) + ((high & mask) > (mask >> 1))


def test_effective_scale_is_a_double_product() -> None:
    """The per-channel multiplier comes from (double)in * (double)filter /
    (double)out, not from the float product in * filter: scales and biases
    are chosen where the two rules disagree (1x1 CONV_2D, zero weights, so
    each output is requantize(bias))."""
    rng = np.random.default_rng(5)
    in_scale, out_scale = np.float32(0.05), np.float32(0.9)
    scales, biases, by_double, by_float = [], [], [], []
    while len(scales) < 16:
        f = np.float32(10 ** rng.uniform(-3, -2))
        m_double = float(in_scale) * float(f) / float(out_scale)
        m_float = float(np.float32(in_scale * f)) / float(out_scale)
        (m1, s1), (m2, s2) = quantize_multiplier(m_double), quantize_multiplier(m_float)
        if (m1, s1) == (m2, s2) or s1 != s2:
            continue
        acc = np.arange(1, int(120 / m_double), dtype=np.int64)
        hits = np.nonzero(requantize(acc, m1, s1) != requantize(acc, m2, s2))[0]
        if len(hits):
            scales.append(float(f))
            biases.append(int(acc[hits[0]]))
            by_double.append(int(requantize(acc[hits[0]], m1, s1)))
            by_float.append(int(requantize(acc[hits[0]], m2, s2)))
    b = AlignedModelBuilder()
    x = b.tensor((1, 1, 1, 1), np.int8, scale=float(in_scale), zero_point=0)
    w = b.tensor((16, 1, 1, 1), np.int8, data=np.zeros((16, 1, 1, 1), np.int8), scale=scales,
                 zero_point=[0] * 16)  # fmt: skip
    bias = b.tensor((16,), np.int32, data=np.array(biases, np.int32), scale=[1.0] * 16,
                    zero_point=[0] * 16)  # fmt: skip
    y = b.tensor((1, 1, 1, 16), np.int8, scale=float(out_scale), zero_point=0)
    o = schema.Conv2DOptionsT()
    o.padding, o.strideH, o.strideW = schema.Padding.VALID, 1, 1
    b.operator(OP.CONV_2D, [x, w, bias], [y], OPTS.Conv2DOptions, o)
    b.inputs, b.outputs = [x], [y]
    model = b.build()
    zero = [np.zeros((1, 1, 1, 1), np.int8)]
    expected = run_tflm(model, zero)[0].ravel().tolist()
    with HostEngine(arena_bytes=ARENA) as engine:
        actual = run_hil(engine, model, zero)[0].ravel().tolist()
    assert by_double != by_float
    assert expected == by_double  # the oracle's rule ...
    assert actual == expected  # ... and hil's


def test_requantization_edges() -> None:
    """The inline requantization of the conv kernels on its edge cases: exact
    ties (round half away from zero, both signs), extreme accumulators, left
    shifts (effective scale >= 1). 1x1 CONV_2D, zero weights: output c is
    requantize(bias[c]) with multiplier = filter_scale[c]."""
    rng = np.random.default_rng(17)
    scales: list[float] = []
    accs: list[int] = []
    for k in range(2, 25):  # exact ties: m = 2^-k, acc an odd multiple of 2^(k-1)
        scales.append(2.0**-k)
        accs.append(int(rng.choice([-1, 1])) * (2 * int(rng.integers(0, 100)) + 1) * 2 ** (k - 1))
    for acc in (-(2**31), 2**31 - 1, -(2**31) + 1, 2**30, -(2**30)):
        scales.append(f32(2.0**-25 * rng.uniform(1, 1.9)))
        accs.append(acc)
    while len(scales) < 64:
        left = rng.random() < 0.3  # left shifts: effective scale >= 1
        m = f32(10 ** rng.uniform(0, 2)) if left else f32(2 ** rng.uniform(-30, -1))
        limit = min(2**31 - 1, max(1, int(120 / m)))
        scales.append(m)
        accs.append(int(rng.integers(-limit, limit + 1)))
    n = len(scales)
    b = AlignedModelBuilder()
    x = b.tensor((1, 1, 1, 1), np.int8, scale=1.0, zero_point=0)
    w = b.tensor((n, 1, 1, 1), np.int8, data=np.zeros((n, 1, 1, 1), np.int8), scale=scales,
                 zero_point=[0] * n)  # fmt: skip
    bias = b.tensor((n,), np.int32, data=np.array(accs, np.int32), scale=scales, zero_point=[0] * n)
    y = b.tensor((1, 1, 1, n), np.int8, scale=1.0, zero_point=int(rng.integers(-5, 6)))
    o = schema.Conv2DOptionsT()
    o.padding, o.strideH, o.strideW = schema.Padding.VALID, 1, 1
    b.operator(OP.CONV_2D, [x, w, bias], [y], OPTS.Conv2DOptions, o)
    b.inputs, b.outputs = [x], [y]
    model = b.build()
    zero = [np.zeros((1, 1, 1, 1), np.int8)]
    expected = run_tflm(model, zero)[0]
    with HostEngine(arena_bytes=ARENA) as engine:
        actual = run_hil(engine, model, zero)[0]
    assert same_bits(expected, actual), np.flatnonzero(expected != actual)
    assert len(np.unique(expected)) > 40  # the outputs really vary


# -- larger shapes ----------------------------------------------------------------------


def test_large_int8_layers_bit_exact() -> None:
    """A few layers of MLPerf-Tiny size (long accumulations, many channels)."""
    rng = np.random.default_rng(77)
    layers = [
        ("CONV_2D", {"in": (1, 25, 5, 64), "filter": (64, 3, 3, 64), "stride": 1, "pad": 0}),
        ("CONV_2D", {"in": (1, 32, 32, 3), "filter": (16, 3, 3, 3), "stride": 2, "pad": 0}),
        ("CONV_2D", {"in": (1, 12, 12, 32), "filter": (48, 1, 1, 32), "stride": 1, "pad": 1}),
        ("DEPTHWISE_CONV_2D", {"in": (1, 25, 5, 64), "filter": (1, 3, 3, 64), "stride": 1,
                               "pad": 0}),
        ("DEPTHWISE_CONV_2D", {"in": (1, 48, 48, 8), "filter": (1, 3, 3, 8), "stride": 2,
                               "pad": 0}),
        ("TRANSPOSE_CONV", {"in": (1, 8, 8, 32), "filter": (16, 3, 3, 32), "stride": 2,
                            "pad": 0}),
    ]  # fmt: skip
    with HostEngine(arena_bytes=ARENA) as engine:
        for k, (op, cfg) in enumerate(layers):
            b = AlignedModelBuilder()
            in_shape, f_shape = cfg["in"], cfg["filter"]
            out_c = f_shape[3] if op == "DEPTHWISE_CONV_2D" else f_shape[0]
            s, pad = cfg["stride"], cfg["pad"]
            if op == "TRANSPOSE_CONV":
                oh, ow = in_shape[1] * s, in_shape[2] * s
            else:
                oh = conv_out_size(pad, in_shape[1], f_shape[1], s, 1)
                ow = conv_out_size(pad, in_shape[2], f_shape[2], s, 1)
            taps = int(np.prod(f_shape[1:])) if op != "DEPTHWISE_CONV_2D" else 9
            p: dict[str, object] = {}
            qdim = 3 if op == "DEPTHWISE_CONV_2D" else 0
            out_shape = (1, oh, ow, out_c)
            shape_t = b.tensor((4,), np.int32, data=np.array(out_shape, np.int32))
            x, w, bias, y = add_tensors(
                b, rng, "int8", in_shape, f_shape, out_shape, out_c, qdim, taps, "int32", p
            )
            if op == "CONV_2D":
                o = schema.Conv2DOptionsT()
                code, otype, inputs = OP.CONV_2D, OPTS.Conv2DOptions, [x, w, bias]
            elif op == "DEPTHWISE_CONV_2D":
                o = schema.DepthwiseConv2DOptionsT()
                o.depthMultiplier = 1
                code, otype, inputs = (
                    OP.DEPTHWISE_CONV_2D,
                    OPTS.DepthwiseConv2DOptions,
                    [x, w, bias],
                )
            else:
                o = schema.TransposeConvOptionsT()
                code, otype, inputs = (
                    OP.TRANSPOSE_CONV,
                    OPTS.TransposeConvOptions,
                    [shape_t, w, x, bias],
                )
            o.padding, o.strideH, o.strideW = pad, s, s
            o.fusedActivationFunction = k % 2  # NONE or RELU: many output levels
            b.operator(code, inputs, [y], otype, o)
            b.inputs, b.outputs = [x], [y]
            model = b.build()
            xs = [rng.integers(-128, 128, in_shape).astype(np.int8) for _ in range(2)]
            expected = run_tflm(model, xs)
            actual = run_hil(engine, model, xs)
            for e, a in zip(expected, actual, strict=True):
                assert same_bits(e, a), f"{op} {cfg}: {int(np.sum(e != a))} elements differ"
            assert len(np.unique(expected[0])) > 4, f"{op} {cfg}: outputs saturate"


def test_transpose_conv_needs_no_scratch() -> None:
    """TFLM's int8 TRANSPOSE_CONV asks for an int32 scratch image of the whole
    output; hil gathers instead, so its arena holds the two activations and a
    little state only (less than TFLM's activations + scratch alone)."""
    b = AlignedModelBuilder()
    rng = np.random.default_rng(1)
    in_shape, out_shape = (1, 16, 16, 8), (1, 32, 32, 8)
    shape_t = b.tensor((4,), np.int32, data=np.array(out_shape, np.int32))
    x, w, bias, y = add_tensors(
        b, rng, "int8", in_shape, (8, 3, 3, 8), out_shape, 8, 0, 72, "int32", {}
    )
    o = schema.TransposeConvOptionsT()
    o.padding, o.strideH, o.strideW = schema.Padding.SAME, 2, 2
    b.operator(OP.TRANSPOSE_CONV, [shape_t, w, x, bias], [y], OPTS.TransposeConvOptions, o)
    b.inputs, b.outputs = [x], [y]
    model = b.build()
    in_bytes, out_bytes = int(np.prod(in_shape)), int(np.prod(out_shape))
    with HostEngine(model, arena_bytes=ARENA) as engine:
        used = engine.arena_used
    assert in_bytes + out_bytes <= used < in_bytes + out_bytes + 1024
    assert used < in_bytes + out_bytes + 4 * out_bytes  # TFLM: + int32 scratch


# -- the operators of the real models ------------------------------------------------

CONV_OPS = {OP.CONV_2D: "CONV_2D", OP.DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D",
            OP.TRANSPOSE_CONV: "TRANSPOSE_CONV"}  # fmt: skip
REAL_MODELS = [
    "mlperf_tiny_kws_ds_cnn_int8.tflite",
    "mlperf_tiny_vww_mobilenet_int8.tflite",
    "mlperf_tiny_ic_resnet8_int8.tflite",
    "person_detect_int8.tflite",
    "micro_speech_int8.tflite",
]


def op_code(model: schema.ModelT, op: schema.OperatorT) -> int:
    oc = model.operatorCodes[op.opcodeIndex]
    return max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))


def extract_op(data: bytes, index: int) -> tuple[bytes, int]:
    """Operator `index` of a model as a one-op model with the same tensors
    (weights, quantization, options); returns it and its input's position."""
    src = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = src.subgraphs[0]
    op = graph.operators[index]
    b = AlignedModelBuilder()
    remap: dict[int, int] = {}
    for t in [*op.inputs, *op.outputs]:
        t = int(t)
        if t < 0 or t in remap:
            continue
        tensor = graph.tensors[t]
        buf = src.buffers[tensor.buffer]
        if buf.data is not None and len(buf.data):
            new = schema.BufferT()
            new.data = buf.data
            b.buffers.append(new)
            tensor.buffer = len(b.buffers) - 1
        else:
            tensor.buffer = 0
        b.tensors.append(tensor)
        remap[t] = len(b.tensors) - 1
    new_op = op
    new_op.inputs = [remap[int(t)] if int(t) >= 0 else -1 for t in op.inputs]
    new_op.outputs = [remap[int(t)] for t in op.outputs]
    code = op_code(src, op)
    b.opcodes.append(code)
    new_op.opcodeIndex = 0
    b.operators.append(new_op)
    data_input = 2 if code == OP.TRANSPOSE_CONV else 0
    b.inputs, b.outputs = [new_op.inputs[data_input]], list(new_op.outputs)
    return b.build(), data_input


@pytest.mark.parametrize("name", REAL_MODELS)
def test_real_model_conv_layers_bit_exact(models_dir: Path, name: str) -> None:
    """Every CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV of the real models,
    cut out with its own weights and quantization, on random inputs."""
    data = (models_dir / name).read_bytes()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    ops = [i for i, op in enumerate(model.subgraphs[0].operators)
           if op_code(model, op) in CONV_OPS]  # fmt: skip
    assert ops, f"{name} has no convolution"
    rng = np.random.default_rng(len(data))
    with HostEngine(arena_bytes=1 << 20) as engine:
        for i in ops:
            one, _ = extract_op(data, i)
            engine.load(one)
            spec = engine.inputs[0]
            engine.unload()
            xs = [rng.integers(-128, 128, spec.shape).astype(spec.dtype) for _ in range(2)]
            expected = run_tflm(one, xs)
            actual = run_hil(engine, one, xs)
            for e, a in zip(expected, actual, strict=True):
                assert same_bits(e, a), f"{name} op {i}: {int(np.sum(e != a))} elements differ"
    print(f"\n{name}: {len(ops)} convolution layers bit-exact")


FULL_MODELS = [
    "mlperf_tiny_kws_ds_cnn_int8.tflite",
    "mlperf_tiny_vww_mobilenet_int8.tflite",
    "mlperf_tiny_ic_resnet8_int8.tflite",
    "person_detect_int8.tflite",
]


def tflm_arena(models_dir: Path, name: str) -> int:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["file"] == name)
    return int(entry["host_tflm"]["arena_used_bytes_host_x86_64"])


@pytest.mark.parametrize("name", FULL_MODELS)
def test_full_model_bit_exact(models_dir: Path, name: str) -> None:
    """The whole model against TFLM; any refusal fails."""
    data = (models_dir / name).read_bytes()
    with HostEngine(data, arena_bytes=1 << 20) as engine:
        rng = np.random.default_rng(3)
        spec = engine.inputs[0]
        xs = [np.zeros(spec.shape, spec.dtype)]
        xs += [rng.integers(-128, 128, spec.shape).astype(spec.dtype) for _ in range(3)]
        expected = run_tflm(data, xs)
        for x, e in zip(xs, expected, strict=True):
            engine.set_input(0, x)
            engine.invoke()
            assert same_bits(e, engine.get_output(0)), f"{name}: output differs from TFLM"
        used, tflm = engine.arena_used, tflm_arena(models_dir, name)
        print(f"\n{name}: bit-exact; arena used {used} B (TFLM host {tflm} B)")
        assert used <= tflm


# -- refusals ------------------------------------------------------------------------


def small_model(op: str, dtype: str = "int8", bias: str = "default") -> bytes:
    """A valid 5x5x2 -> 4-channel model of `op` (3x3 filter, stride 1, SAME).
    Tensor indices: CONV_2D / DEPTHWISE: x 0, w 1, bias 2, y 3;
    TRANSPOSE_CONV: output_shape 0, x 1, w 2, bias 3, y 4."""
    rng = np.random.default_rng(0)
    b = AlignedModelBuilder()
    in_shape, out_shape = (1, 5, 5, 2), (1, 5, 5, 4)
    bias_kind = {"int8": "int32", "int16": "int64", "float32": "float32"}[dtype]
    bias_kind = bias_kind if bias == "default" else bias
    p: dict[str, object] = {}
    if op == "CONV_2D":
        x, w, bi, y = add_tensors(b, rng, dtype, in_shape, (4, 3, 3, 2), out_shape, 4, 0, 18,
                                  bias_kind, p)  # fmt: skip
        o = schema.Conv2DOptionsT()
        code, otype, inputs = OP.CONV_2D, OPTS.Conv2DOptions, [x, w, bi]
    elif op == "DEPTHWISE_CONV_2D":
        x, w, bi, y = add_tensors(b, rng, dtype, in_shape, (1, 3, 3, 4), out_shape, 4, 3, 9,
                                  bias_kind, p)  # fmt: skip
        o = schema.DepthwiseConv2DOptionsT()
        o.depthMultiplier = 2
        code, otype, inputs = OP.DEPTHWISE_CONV_2D, OPTS.DepthwiseConv2DOptions, [x, w, bi]
    else:
        shape_t = b.tensor((4,), np.int32, data=np.array(out_shape, np.int32))
        x, w, bi, y = add_tensors(b, rng, dtype, in_shape, (4, 3, 3, 2), out_shape, 4, 0, 18,
                                  bias_kind, p)  # fmt: skip
        o = schema.TransposeConvOptionsT()
        code, otype, inputs = OP.TRANSPOSE_CONV, OPTS.TransposeConvOptions, [shape_t, w, x, bi]
    o.padding, o.strideH, o.strideW = schema.Padding.SAME, 1, 1
    b.operator(code, [i if i is not None else -1 for i in inputs], [y], otype, o)
    b.inputs, b.outputs = [x], [y]
    return b.build()


def mutate(data: bytes, edit) -> bytes:
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    edit(model)
    builder = AlignedModelBuilder()
    builder.buffers = model.buffers
    aligned = []
    for buf in model.buffers:
        a = _AlignedBuffer()
        a.data = buf.data
        aligned.append(a)
    model.buffers = aligned
    fb = flatbuffers.Builder(4096)
    fb.Finish(model.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def options(**fields):
    def edit(m: schema.ModelT) -> None:
        for k, v in fields.items():
            setattr(m.subgraphs[0].operators[0].builtinOptions, k, v)

    return edit


def retype(index: int, tensor_type: int, elem_bytes: int | None = None):
    """Change tensor `index`'s type (and, for a constant, its data size)."""

    def edit(m: schema.ModelT) -> None:
        t = m.subgraphs[0].tensors[index]
        t.type = tensor_type
        if elem_bytes is not None:
            n = int(np.prod(t.shape))
            m.buffers[t.buffer].data = np.zeros(n * elem_bytes, np.uint8)

    return edit


def edit_tensor(index: int, **fields):
    def edit(m: schema.ModelT) -> None:
        t = m.subgraphs[0].tensors[index]
        for k, v in fields.items():
            if k in ("scale", "zeroPoint", "quantizedDimension"):
                setattr(t.quantization, k, v)
            else:
                setattr(t, k, v)

    return edit


def both(*edits):
    def edit(m: schema.ModelT) -> None:
        for e in edits:
            e(m)

    return edit


def no_options(m: schema.ModelT) -> None:
    m.subgraphs[0].operators[0].builtinOptionsType = 0
    m.subgraphs[0].operators[0].builtinOptions = None


def conv_options_on_depthwise(m: schema.ModelT) -> None:
    op = m.subgraphs[0].operators[0]
    op.builtinOptionsType, op.builtinOptions = OPTS.Conv2DOptions, schema.Conv2DOptionsT()


def extra_input(m: schema.ModelT) -> None:
    m.subgraphs[0].operators[0].inputs = [*m.subgraphs[0].operators[0].inputs, 2]


T = schema.TensorType
U, INV = Status.UNSUPPORTED, Status.MODEL_INVALID
REFUSALS = [
    ("CONV_2D", "int8", options(fusedActivationFunction=4), U,
     "fused activation TANH is not supported"),
    ("DEPTHWISE_CONV_2D", "int8", options(fusedActivationFunction=5), U,
     "fused activation SIGN_BIT is not supported"),
    ("CONV_2D", "int8", both(retype(0, T.UINT8), retype(3, T.UINT8)), U,
     "uint8 activations are not supported (type 3)"),
    ("CONV_2D", "int8", retype(1, T.FLOAT32, 4), U,
     "int8 input with float32 filter is not supported (hybrid or packed)"),
    ("TRANSPOSE_CONV", "float32", retype(2, T.INT8, 1), U,
     "float32 input with int8 filter is not supported (hybrid or packed)"),
    ("CONV_2D", "int8", retype(3, T.INT16), U, "input type int8 differs from output type int16"),
    ("CONV_2D", "int8", retype(2, T.INT64, 8), U, "int8 input with int64 bias is not supported"),
    ("DEPTHWISE_CONV_2D", "int16", retype(2, T.INT32, 4), U,
     "int16 input with int32 bias is not supported"),
    ("TRANSPOSE_CONV", "float32", retype(3, T.INT32, 4), U,
     "float32 input with int32 bias is not supported"),
    ("CONV_2D", "int16", edit_tensor(0, zeroPoint=[3]), U,
     "int16 input/output zero points must be 0"),
    ("CONV_2D", "int8", edit_tensor(1, scale=[0.01, 0.02], zeroPoint=[0, 0], quantizedDimension=3),
     U, "per-channel filter quantized along dimension 3 (expected 0)"),
    ("CONV_2D", "int8", edit_tensor(0, shape=[1, 25, 2]), U, "input has rank 3, expected 4"),
    ("TRANSPOSE_CONV", "int8", edit_tensor(2, shape=[4, 9, 2]), U,
     "filter has rank 3, expected 4"),
    ("CONV_2D", "int8", edit_tensor(1, scale=[-0.01], zeroPoint=[0]), U,
     "channel 0: output multiplier is negative, not finite or too large"),
    ("CONV_2D", "int8", no_options, INV, "missing Conv2DOptions"),
    ("DEPTHWISE_CONV_2D", "int8", conv_options_on_depthwise, INV,
     "builtin options type 1 is not DepthwiseConv2DOptions"),
    ("DEPTHWISE_CONV_2D", "int8", options(depthMultiplier=3), INV,
     "input depth 2 x depth_multiplier 3 != output depth 4"),
    ("CONV_2D", "int8", options(padding=2), INV, "padding 2 is neither SAME nor VALID"),
    ("CONV_2D", "int8", edit_tensor(0, shape=[1, 5, 5, 3]), INV,
     "input depth 3, filter depth 2, output depth 4: not whole groups"),
    ("CONV_2D", "int8",
     both(edit_tensor(2, shape=[3], scale=[1.0], zeroPoint=[0]), retype(2, T.INT32, 4)), INV,
     "bias has 3 elements, output depth is 4"),
    ("TRANSPOSE_CONV", "int8", edit_tensor(1, shape=[1, 5, 5, 3]), INV,
     "filter [4,_,_,2] does not match input depth 3, output depth 4"),
    ("CONV_2D", "int8", edit_tensor(3, scale=[0.0]), INV,
     "input and output scales must be positive"),
    ("CONV_2D", "int8", extra_input, INV, "has 4 inputs and 1 outputs, expected 2-3 and 1"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "dtype", "edit", "status", "message"), REFUSALS,
                         ids=[f"{r[0]}-{r[4][:40]}" for r in REFUSALS])  # fmt: skip
def test_refusals(op: str, dtype: str, edit, status: int, message: str) -> None:
    base = small_model(op, dtype)
    with HostEngine(arena_bytes=ARENA) as engine:
        engine.load(base)  # the unedited model is fine
        engine.unload()
        with pytest.raises(EngineError) as info:
            engine.load(mutate(base, edit))
        assert (info.value.status, info.value.message) == (status, f"{op} (op index 0): {message}")
        assert not engine.loaded


# -- hostile options: refused, never a fault ------------------------------------------

HOSTILE = [
    ("CONV_2D", options(strideH=0), INV, "stride 0x1 (h x w) must be positive"),
    ("CONV_2D", options(strideW=-(2**31)), INV, "stride 1x-2147483648 (h x w) must be positive"),
    ("DEPTHWISE_CONV_2D", options(dilationHFactor=-3), INV,
     "dilation -3x1 (h x w) must be positive"),
    ("TRANSPOSE_CONV", options(strideW=0), INV, "stride 1x0 (h x w) must be positive"),
    ("DEPTHWISE_CONV_2D", options(depthMultiplier=0), INV, "depth_multiplier 0 must be positive"),
    ("DEPTHWISE_CONV_2D", options(depthMultiplier=2**31 - 1), INV,
     "input depth 2 x depth_multiplier 2147483647 != output depth 4"),
    ("CONV_2D", options(dilationWFactor=2**30), U,
     "width: stride 1, dilation 1073741824 and size 5 overflow index math"),
    ("CONV_2D", options(strideH=2**31 - 1), U,
     "height: stride 2147483647, dilation 1 and size 5 overflow index math"),
    ("TRANSPOSE_CONV", options(strideH=2**31 - 1), U,
     "height: stride 2147483647 and size 5 overflow index math"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "edit", "status", "message"), HOSTILE,
                         ids=[f"{h[0]}-{h[3][:30]}" for h in HOSTILE])  # fmt: skip
def test_hostile_options_refused(op: str, edit, status: int, message: str) -> None:
    with HostEngine(arena_bytes=ARENA) as engine:
        with pytest.raises(EngineError) as info:
            engine.load(mutate(small_model(op), edit))
        assert (info.value.status, info.value.message) == (status, f"{op} (op index 0): {message}")


def test_output_shape_the_padding_rule_does_not_give() -> None:
    """TFLM computes the padding from the input and iterates over whatever
    output shape the model states, reading only inside the input; so does
    hil (a 5x5 SAME conv written with a 7x3 output)."""
    rng = np.random.default_rng(9)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"):
        y = 4 if op == "TRANSPOSE_CONV" else 3
        model = mutate(small_model(op), edit_tensor(y, shape=[1, 7, 3, 4]))
        xs = [rng.integers(-128, 128, (1, 5, 5, 2)).astype(np.int8) for _ in range(2)]
        with HostEngine(arena_bytes=ARENA) as engine:
            actual = run_hil(engine, model, xs)
        for e, a in zip(run_tflm(model, xs), actual, strict=True):
            assert same_bits(e, a), op


# -- fuzzed models under ASan + UBSan ----------------------------------------------------

FUZZ_SCRIPT = r"""
import collections, json, sys
import numpy as np
from hil.devtools.engine_host import EngineError, HostEngine, load_library

blob = open(sys.argv[1], "rb").read()
models, pos = [], 0
while pos < len(blob):
    n = int.from_bytes(blob[pos:pos + 4], "little")
    models.append(blob[pos + 4:pos + 4 + n])
    pos += 4 + n
lib = load_library(True)
assert hasattr(lib, "__asan_init"), "not an AddressSanitizer build"
engine = HostEngine(arena_bytes=256 * 1024, sanitize=True)
rng = np.random.default_rng(99)
stats = collections.Counter()

def attempt(data):
    try:
        engine.load(data)
    except EngineError as exc:
        stats[str(exc.status)] += 1
        stats["empty message"] += not exc.message
        return
    stats["loaded"] += 1
    for i, spec in enumerate(engine.inputs):
        if spec.dtype.kind == "i":
            x = rng.integers(-128, 128, spec.shape)
        else:
            x = rng.standard_normal(spec.shape)
        engine.set_input(i, x.astype(spec.dtype))
    engine.invoke()
    for i in range(len(engine.outputs)):
        engine.get_output(i)

for data in models:
    attempt(data)
    for _ in range(int(sys.argv[2])):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.5:  # one byte, often in weights or quantization
                b[int(rng.integers(len(b)))] = int(rng.integers(256))
                continue
            p = int(rng.integers(len(b) - 4)) & ~3
            v = int(rng.choice([0, 1, 2, 3, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000]))
            b[p:p + 4] = v.to_bytes(4, "little")
        attempt(bytes(b))
print(json.dumps(stats))
"""


def hostile_variants(rng: np.random.Generator) -> list[bytes]:
    """Valid random models of every op and type, and the same with extreme
    option values and odd shapes written in."""
    out = []
    extremes = [0, 1, 2, 7, -1, 2**30, 2**31 - 1, -(2**31)]
    for make in GENERATORS.values():
        for dtype in ("int8", "float32", "int16"):
            for _ in range(6):
                case = make(rng, dtype)
                out.append(case.model)
                fields = {"padding": int(rng.choice([0, 1, 2, -1]))}
                for name in ("strideH", "strideW", "dilationHFactor", "dilationWFactor",
                             "depthMultiplier"):  # fmt: skip
                    if rng.random() < 0.4:
                        fields[name] = int(rng.choice(extremes))
                out.append(mutate(case.model, options(**fields)))
                dims = [int(v) for v in rng.choice([0, 1, 2, 3, 60], 4)]
                out.append(mutate(case.model, reshape_io(bool(rng.random() < 0.5), dims)))
    return out


def reshape_io(is_output: bool, dims: list[int]) -> Callable[[schema.ModelT], None]:
    def edit(m: schema.ModelT) -> None:
        g = m.subgraphs[0]
        g.tensors[int((g.outputs if is_output else g.inputs)[0])].shape = dims

    return edit


def test_fuzzed_models_never_crash(tmp_path: Path) -> None:
    try:
        build_library(sanitize=True)
        env = asan_env()
    except ToolMissingError as exc:
        pytest.fail(f"no sanitizer toolchain (tools/setup.sh installs it): {exc}", pytrace=False)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    models = hostile_variants(np.random.default_rng(2024))
    blob = tmp_path / "models.bin"
    blob.write_bytes(b"".join(len(m).to_bytes(4, "little") + m for m in models))
    result = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, str(blob), "10"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, f"engine crashed or UB:\n{result.stderr[-4000:]}"
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\nfuzzed convolution models: {stats}")
    refused = {int(k): v for k, v in stats.items() if k.isdigit()}
    assert stats["loaded"] > len(models)  # the valid ones, flipped weights, ...
    assert refused.get(Status.MODEL_INVALID, 0) > 50
    assert set(refused) <= {Status.MODEL_INVALID, Status.UNSUPPORTED, Status.ARENA_TOO_SMALL}
    assert stats["empty message"] == 0


# -- the Arm builds (DSP paths) on QEMU --------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("board", ["mps2-an386", "corstone300"])
def test_random_models_bit_exact_on_qemu(board: str, tmp_path: Path) -> None:
    """The firmware's kernels use the Arm DSP extension (SMLAD, SMLABB, ...)
    where the host build runs portable C: the same random models, run on the
    emulated Cortex-M4 / M55, must match TFLM bit for bit too."""
    from hil.boards import load_board, resolve
    from hil.device.dut import Dut
    from hil.model.file import ModelFile

    rng = np.random.default_rng(4242)
    runs = 0
    with Dut(resolve(load_board(board)), variant="release") as dut:
        for op, make in GENERATORS.items():
            for dtype in ("int8", "int8", "int8", "float32", "int16"):
                case = make(rng, dtype)
                path = tmp_path / f"{op}-{runs}.tflite"
                path.write_bytes(case.model)
                model = ModelFile(path)
                loaded = dut.load(model)
                xs = [random_input(rng, case) for _ in range(2)]
                for x, e in zip(xs, run_tflm(case.model, xs), strict=True):
                    got = dut.infer(model, loaded, [x]).outputs[0]
                    assert same_bits(e, got), f"{board}: {case.describe()}"
                    runs += 1
    assert runs == 2 * 5 * len(GENERATORS)

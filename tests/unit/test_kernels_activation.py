"""Activation and conversion kernels (SOFTMAX, LOGISTIC, TANH, RELU, RELU6,
LEAKY_RELU, HARD_SWISH, QUANTIZE, DEQUANTIZE) of hil's engine against TFLM's
host interpreter: random single-op models (shapes, scales, zero points,
beta, alpha), each run on two random inputs. Integer outputs must be
bit-exact; float32 outputs too (0 ulp on the host: same libm, same order of
operations; on a device newlib's expf/tanhf may differ by an ulp). The RNG is
seeded and failures print their parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hil.errors import Status
from tests.unit.kernel_oracle import (
    OPS,
    OPTS,
    OneOp,
    T,
    compare,
    engine_error,
    oracle_refuses,
    rand_scale,
    rand_zp,
    schema,
)

CASES = 210


def rand_shape(rng: np.random.Generator, max_rank: int = 4, max_dim: int = 7) -> tuple[int, ...]:
    rank = int(rng.integers(1, max_rank + 1))
    return tuple(int(v) for v in rng.integers(1, max_dim + 1, size=rank))


def full_range(rng: np.random.Generator, t: T) -> np.ndarray:
    """Every int8 value at least once when the tensor is big enough."""
    dt = t.np_dtype()
    if dt == np.float32:
        return (rng.standard_normal(t.shape) * 10 ** rng.uniform(-1, 1.5)).astype(np.float32)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(dt)


# -- SOFTMAX ----------------------------------------------------------------------------


def softmax_case(rng: np.random.Generator, kind: str) -> OneOp:
    shape = rand_shape(rng, 4, 12)
    if rng.random() < 0.1:
        shape = (
            int(rng.integers(1, 3)),
            int(rng.integers(100, 500)),
        )  # long rows (TFLM aborts on int8 rows of 512+ equal maxima)
    beta = float(np.float32(rng.choice([1.0, rng.uniform(0.05, 3.0)])))
    opts = schema.SoftmaxOptionsT()
    opts.beta = beta
    if kind == "float":
        tin, tout = T(shape, np.float32), T(shape, np.float32)
    elif kind == "int8":
        tin = T(shape, np.int8, rand_scale(rng, -2.5, 0.0), rand_zp(rng, np.int8))
        tout = T(shape, np.int8, 1 / 256, -128)
    elif kind == "int8_int16":
        tin = T(shape, np.int8, rand_scale(rng, -2.5, 0.0), rand_zp(rng, np.int8))
        tout = T(shape, np.int16, 1 / 65536, -32768)
    else:
        tin = T(shape, np.int16, rand_scale(rng, -4.5, -2.5), 0)
        tout = T(shape, np.int16, 1 / 32768, 0)
    info = dict(op="softmax", kind=kind, shape=shape, beta=beta, scale=tin.scale, zp=tin.zero_point)
    return OneOp(OPS.SOFTMAX, [tin], [tout], OPTS.SoftmaxOptions, opts, info)


def narrow_range(rng: np.random.Generator, t: T) -> np.ndarray:
    """Values within a random span, so that rows hold comparable logits."""
    dt = t.np_dtype()
    if dt == np.float32:
        return full_range(rng, t)
    info = np.iinfo(dt)
    span = int(rng.integers(4, info.max))
    center = int(rng.integers(info.min + span // 2, info.max - span // 2 + 1))
    return rng.integers(center - span // 2, center + span // 2, size=t.shape, endpoint=True).astype(
        dt
    )


@pytest.mark.parametrize("kind", ["int8", "float", "int8_int16", "int16"])
def test_softmax_matches_tflm(kind: str) -> None:
    rng = np.random.default_rng({"int8": 301, "float": 302, "int8_int16": 303, "int16": 304}[kind])
    for _ in range(CASES if kind in ("int8", "float") else CASES // 2 + 5):
        compare(softmax_case(rng, kind), rng, data_fn=narrow_range)


def test_softmax_refusals() -> None:
    wrong_out = OneOp(
        OPS.SOFTMAX, [T((1, 4), np.int8, 0.1, 0)], [T((1, 4), np.int8, 1 / 255, -128)]
    )
    err = engine_error(wrong_out.build())
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "SOFTMAX (op index 0): int8 output needs scale 1/256 and zero point -128",
    )
    assert oracle_refuses(wrong_out.build())
    i32 = OneOp(OPS.SOFTMAX, [T((1, 4), np.int8, 0.1, 0)], [T((1, 4), np.int32, 1.0, 0)])
    err = engine_error(i32.build())
    assert err.message == "SOFTMAX (op index 0): int8 input with int32 output is not supported"
    no_beta = OneOp(OPS.SOFTMAX, [T((1, 4), np.int8, 0.1, 0)], [T((1, 4), np.int8, 1 / 256, -128)])
    err = engine_error(no_beta.build())  # beta 0: TFLM would abort on its multiplier check
    assert err.status == Status.UNSUPPORTED and "beta" in err.message
    shapes = OneOp(OPS.SOFTMAX, [T((2, 4), np.float32)], [T((4, 2), np.float32)])
    assert engine_error(shapes.build()).status == Status.MODEL_INVALID


# -- elementwise activations ----------------------------------------------------------------

UNARY = {
    "logistic": (OPS.LOGISTIC, [np.int8, np.int8, np.float32]),
    "tanh": (OPS.TANH, [np.int8, np.int8, np.float32]),
    "relu": (OPS.RELU, [np.int8, np.int8, np.float32, np.int16]),
    "relu6": (OPS.RELU6, [np.int8, np.int8, np.float32, np.int16]),
    "leaky_relu": (OPS.LEAKY_RELU, [np.int8, np.int8, np.float32, np.int16]),
    "hard_swish": (OPS.HARD_SWISH, [np.int8, np.int8, np.float32]),
}


def unary_case(rng: np.random.Generator, kind: str, dt: type) -> OneOp:
    code = UNARY[kind][0]
    shape = rand_shape(rng, 4, 9)
    if dt == np.float32:
        tin, tout = T(shape, dt), T(shape, dt)
    else:
        tin = T(shape, dt, rand_scale(rng, -3.0, 0.5), rand_zp(rng, dt))
        tout = T(shape, dt, rand_scale(rng, -3.0, 0.5), rand_zp(rng, dt))
        if kind == "logistic":
            tout.scale, tout.zero_point = 1 / 256, -128
            if rng.random() < 0.2:  # TFLM ignores the output scale
                tout.scale = rand_scale(rng, -3.0, 0.0)
        if kind == "tanh" and rng.random() < 0.8:  # TFLM ignores the output quantization
            tout.scale, tout.zero_point = 1 / 128, 0
        if kind == "relu" and dt == np.int16:
            tin.zero_point = tout.zero_point = 0
        if kind == "hard_swish":  # TFLM needs in_scale / 128 <= out_scale
            tout.scale = float(np.float32(max(tout.scale, tin.scale / 100)))
    typ, opts = 0, None
    info = dict(op=kind, dtype=np.dtype(dt).name, shape=shape)
    if kind == "leaky_relu":
        typ, opts = OPTS.LeakyReluOptions, schema.LeakyReluOptionsT()
        opts.alpha = float(np.float32(rng.choice([0.2, 0.01, rng.uniform(-1.5, 1.5), 0.0])))
        info["alpha"] = opts.alpha
    if tin.scale:
        info.update(quant=(tin.scale, tin.zero_point, tout.scale, tout.zero_point))
    return OneOp(code, [tin], [tout], typ, opts, info)


@pytest.mark.parametrize("kind", list(UNARY))
def test_unary_activation_matches_tflm(kind: str) -> None:
    rng = np.random.default_rng(310 + list(UNARY).index(kind))
    dtypes = UNARY[kind][1]
    for i in range(CASES):
        compare(unary_case(rng, kind, dtypes[i % len(dtypes)]), rng, data_fn=full_range)


def test_float_activations_on_special_values() -> None:
    """NaN, infinities, signed zeros and the logistic cut-offs, bit for bit."""
    rng = np.random.default_rng(320)
    special = np.array(
        [
            np.nan,
            np.inf,
            -np.inf,
            0.0,
            -0.0,
            16.619047,
            16.62,
            -9.0,
            -9.0001,
            6.0,
            -3.0,
            3.0,
            1e-40,
        ],
        np.float32,
    )

    def data(r: np.random.Generator, t: T) -> np.ndarray:
        return r.choice(special, size=t.shape).astype(np.float32)

    for kind, (code, _) in UNARY.items():
        typ, opts = 0, None
        if kind == "leaky_relu":
            typ, opts = OPTS.LeakyReluOptions, schema.LeakyReluOptionsT()
            opts.alpha = 0.3
        case = OneOp(
            code, [T((4, 8), np.float32)], [T((4, 8), np.float32)], typ, opts, dict(op=kind)
        )
        compare(case, rng, runs=3, data_fn=data)


def test_activation_refusals() -> None:
    i16 = OneOp(OPS.LOGISTIC, [T((4,), np.int16, 2**-12, 0)], [T((4,), np.int16, 2**-15, 0)])
    err = engine_error(i16.build())
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "LOGISTIC (op index 0): int16 input with int16 output is not supported",
    )
    zp = OneOp(OPS.LOGISTIC, [T((4,), np.int8, 0.1, 0)], [T((4,), np.int8, 1 / 256, 0)])
    assert engine_error(zp.build()).message == (
        "LOGISTIC (op index 0): int8 output zero point must be -128"
    )
    assert oracle_refuses(zp.build())
    relu16 = OneOp(OPS.RELU, [T((4,), np.int16, 0.1, 3)], [T((4,), np.int16, 0.1, 0)])
    assert engine_error(relu16.build()).message == "RELU (op index 0): int16 zero points must be 0"
    assert oracle_refuses(relu16.build())
    hs = OneOp(OPS.HARD_SWISH, [T((4,), np.int8, 1.0, 0)], [T((4,), np.int8, 0.001, 0)])
    err = engine_error(hs.build())
    assert (
        err.status == Status.UNSUPPORTED and "HARD_SWISH (op index 0): output scale" in err.message
    )
    assert oracle_refuses(hs.build())
    mixed = OneOp(OPS.TANH, [T((4,), np.int8, 0.1, 0)], [T((4,), np.int16, 0.1, 0)])
    assert engine_error(mixed.build()).message == (
        "TANH (op index 0): int8 input with int16 output is not supported"
    )
    sizes = OneOp(OPS.RELU6, [T((4,), np.float32)], [T((5,), np.float32)])
    err = engine_error(sizes.build())
    assert (err.status, err.message) == (
        Status.MODEL_INVALID,
        "RELU6 (op index 0): input has 4 elements but output has 5",
    )


# -- QUANTIZE / DEQUANTIZE -------------------------------------------------------------------

QUANTIZE_PAIRS = [
    (np.float32, np.int8),
    (np.float32, np.int16),
    (np.int8, np.int8),
    (np.int16, np.int8),
    (np.int8, np.int16),
    (np.int8, np.int32),
    (np.int16, np.int16),
    (np.int16, np.int32),
    (np.int32, np.int8),
    (np.int32, np.int16),
]


def quantize_case(rng: np.random.Generator, src: type, dst: type) -> OneOp:
    shape = rand_shape(rng, 4, 9)
    if src == np.float32:
        tin = T(shape, src)
    else:
        tin = T(shape, src, rand_scale(rng, -3.0, 0.5), rand_zp(rng, src))
        if src == np.int32:
            tin.zero_point = int(rng.integers(-1000, 1000))
    tout = T(shape, dst, rand_scale(rng, -3.0, 0.5), rand_zp(rng, dst))
    if dst == np.int32:
        tout.zero_point = int(rng.integers(-1000, 1000))
    info = dict(
        op="quantize",
        src=np.dtype(src).name,
        dst=np.dtype(dst).name,
        shape=shape,
        quant=(tin.scale, tin.zero_point, tout.scale, tout.zero_point),
    )
    return OneOp(OPS.QUANTIZE, [tin], [tout], info=info)


def quantize_data(rng: np.random.Generator, t: T) -> np.ndarray:
    if t.np_dtype() == np.float32:  # around the output range, within int32 after scaling
        return (rng.standard_normal(t.shape) * 10 ** rng.uniform(-3, 2.5)).astype(np.float32)
    if t.np_dtype() == np.int32:
        return rng.integers(-(2**24), 2**24, size=t.shape).astype(np.int32)
    return full_range(rng, t)


def test_quantize_matches_tflm() -> None:
    rng = np.random.default_rng(330)
    for i in range(CASES + 40):
        src, dst = QUANTIZE_PAIRS[i % len(QUANTIZE_PAIRS)]
        compare(quantize_case(rng, src, dst), rng, data_fn=quantize_data)


def test_dequantize_matches_tflm() -> None:
    rng = np.random.default_rng(331)
    for i in range(CASES):
        dt = [np.int8, np.int8, np.int16][i % 3]
        shape = rand_shape(rng, 4, 9)
        tin = T(shape, dt, rand_scale(rng, -4.0, 1.0), rand_zp(rng, dt))
        info = dict(
            op="dequantize", dtype=np.dtype(dt).name, shape=shape, quant=(tin.scale, tin.zero_point)
        )
        compare(
            OneOp(OPS.DEQUANTIZE, [tin], [T(shape, np.float32)], info=info), rng, data_fn=full_range
        )


def test_quantize_refusals() -> None:
    f2f = OneOp(OPS.QUANTIZE, [T((3,), np.float32)], [T((3,), np.float32)])
    err = engine_error(f2f.build())
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "QUANTIZE (op index 0): float32 input with float32 output is not supported",
    )
    per_channel = OneOp(
        OPS.QUANTIZE, [T((2, 3), np.float32)], [T((2, 3), np.int8, [0.1, 0.2], [0, 0])]
    )
    err = engine_error(per_channel.build())
    assert err.message == "QUANTIZE (op index 0): per-channel output quantization is not supported"
    deq = OneOp(OPS.DEQUANTIZE, [T((3,), np.int32, 0.1, 0)], [T((3,), np.float32)])
    err = engine_error(deq.build())
    assert (
        err.message == "DEQUANTIZE (op index 0): int32 input with float32 output is not supported"
    )
    no_scale = OneOp(OPS.DEQUANTIZE, [T((3,), np.int8)], [T((3,), np.float32)])
    assert engine_error(no_scale.build()).status == Status.MODEL_INVALID


# -- hostile single-operator models under AddressSanitizer ----------------------------------

HOSTILE_SCRIPT = r"""
import collections, json, sys
import numpy as np
from hil.devtools.engine_host import EngineError, HostEngine, load_library
from tests.unit.test_kernels_activation import hostile_models

lib = load_library(True)
assert hasattr(lib, "__asan_init"), "not an AddressSanitizer build"
engine = HostEngine(arena_bytes=1 << 18, sanitize=True)
stats = collections.Counter()
for data in hostile_models(int(sys.argv[1])):
    try:
        engine.load(data)
    except EngineError as exc:
        stats[str(exc.status)] += 1
        if not exc.message:
            stats["empty message"] += 1
        continue
    stats["loaded"] += 1
    for i, spec in enumerate(engine.inputs):
        engine.set_input(i, np.full(spec.shape, 0x55, np.uint8).view(spec.dtype)
                         if spec.dtype.itemsize == 1 else np.ones(spec.shape, spec.dtype))
    engine.invoke()
    for i in range(len(engine.outputs)):
        engine.get_output(i)
print(json.dumps(stats))
"""

EXTREMES_F = [0.0, -1.0, float("nan"), float("inf"), 1e-45, 1e-30, 1e30, 3.4e38]
EXTREMES_I = [0, -1, 1, 2**31 - 1, -(2**31), 300, -300, 70000, 2**20]


def valid_cases(rng: np.random.Generator) -> list[OneOp]:
    from tests.unit.test_kernels_elementwise import arith_case, prelu_case
    from tests.unit.test_kernels_pool import mean_case, pool_case

    cases = [arith_case(k, rng, dt) for k in ("add", "sub", "mul") for dt in (np.int8, np.int16)]
    cases += [prelu_case(rng, np.int8)]
    cases += [pool_case(rng, c, np.int8) for c in (OPS.AVERAGE_POOL_2D, OPS.MAX_POOL_2D)]
    cases += [mean_case(rng, np.int8), mean_case(rng, np.float32, special=True)]
    cases += [softmax_case(rng, k) for k in ("int8", "int8_int16", "int16")]
    cases += [unary_case(rng, k, np.int8) for k in UNARY]
    cases += [quantize_case(rng, s, d) for s, d in QUANTIZE_PAIRS[:6]]
    cases += [OneOp(OPS.DEQUANTIZE, [T((2, 3), np.int8, 0.5, 1)], [T((2, 3), np.float32)])]
    for code in (OPS.MAXIMUM, OPS.MINIMUM):
        cases.append(
            OneOp(
                code,
                [T((2, 3), np.int8, 0.5, 1), T((3,), np.int8, 0.5, 1)],
                [T((2, 3), np.int8, 0.5, 1)],
            )
        )
    return cases


def mutate(model: bytes, rng: np.random.Generator) -> bytes:
    """One structured edit: a quantization parameter, a dimension, a type,
    an option field or an operator's tensor list, set to an extreme."""
    import flatbuffers

    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    g = m.subgraphs[0]
    t = g.tensors[int(rng.integers(len(g.tensors)))]
    op = g.operators[0]
    kind = int(rng.integers(6))
    if kind == 0 and t.quantization is not None:
        t.quantization.scale = [float(rng.choice(EXTREMES_F))]
    elif kind == 1 and t.quantization is not None:
        t.quantization.zeroPoint = [int(rng.choice(EXTREMES_I))]
    elif kind == 2 and t.shape:
        t.shape[int(rng.integers(len(t.shape)))] = int(rng.choice([0, 1, 2, 7, 2**16]))
    elif kind == 3:
        t.type = int(rng.choice([0, 1, 2, 3, 4, 7, 9]))
    elif kind == 4 and op.builtinOptions is not None:
        fields = [k for k, v in vars(op.builtinOptions).items() if isinstance(v, (int, float))]
        if fields:
            f = str(rng.choice(fields))
            value = rng.choice(
                EXTREMES_F if isinstance(getattr(op.builtinOptions, f), float) else EXTREMES_I
            )
            setattr(op.builtinOptions, f, type(getattr(op.builtinOptions, f))(value))
    elif kind == 5:
        ins = list(op.inputs)
        ins[int(rng.integers(len(ins)))] = int(rng.choice([-1, 0, len(g.tensors) - 1]))
        op.inputs = ins if rng.random() < 0.7 else ins[:-1]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def hostile_models(per_case: int):
    """Structured extremes and random byte flips of valid models of every
    operator this engine implements here."""
    rng = np.random.default_rng(340)
    for case in valid_cases(rng):
        model = case.build()
        yield model
        for _ in range(per_case):
            try:
                edited = mutate(model, rng)
            except (OverflowError, ValueError, TypeError):
                continue
            yield edited
            flipped = bytearray(edited)
            for _ in range(int(rng.integers(1, 4))):
                flipped[int(rng.integers(len(flipped)))] = int(rng.integers(256))
            yield bytes(flipped)


def test_hostile_single_op_models_never_crash() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hil.devtools.engine_host import asan_env, build_library
    from hil.errors import ToolMissingError

    try:
        build_library(sanitize=True)
        env = asan_env()
    except ToolMissingError as exc:
        pytest.fail(f"no sanitizer toolchain (tools/setup.sh installs it): {exc}", pytrace=False)
    repo = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_SCRIPT, "120"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"engine crashed or UB:\n{result.stderr[-4000:]}"
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\nhostile single-op models: {stats}")
    refused = {int(k): v for k, v in stats.items() if k.isdigit()}
    assert stats.get("loaded", 0) > 1000
    assert sum(refused.values()) > 1000
    assert set(refused) <= {Status.MODEL_INVALID, Status.UNSUPPORTED, Status.ARENA_TOO_SMALL}
    assert "empty message" not in stats

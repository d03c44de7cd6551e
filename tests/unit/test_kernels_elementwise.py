"""Binary elementwise kernels (ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU) of hil's
engine against TFLM's host interpreter: random single-op models (shapes up
to rank 6, numpy broadcasting, fused activations, scales and zero points),
each run on two random inputs. int8/int16/int32 must be bit-exact, and so
must float32 (tolerance 0 ulp: the engine keeps TFLM's order of operations).
Every case prints its parameters when it fails; the RNG is seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.errors import Status
from tests.unit.kernel_oracle import (
    OPS,
    OPTS,
    OneOp,
    T,
    broadcast_pair,
    compare,
    engine_error,
    oracle_refuses,
    rand_scale,
    rand_zp,
    schema,
)

CASES = 210  # models per operator and test


def quant(rng: np.random.Generator, shape: tuple[int, ...], dt: type, lo=-3.0, hi=0.5) -> T:
    if dt in (np.int8, np.int16):
        return T(shape, dt, rand_scale(rng, lo, hi), rand_zp(rng, dt))
    return T(shape, dt)


def activation_options(kind: str, rng: np.random.Generator) -> tuple[int, object]:
    cls, typ = {
        "add": (schema.AddOptionsT, OPTS.AddOptions),
        "sub": (schema.SubOptionsT, OPTS.SubOptions),
        "mul": (schema.MulOptionsT, OPTS.MulOptions),
    }[kind]
    if rng.random() < 0.1:
        return 0, None  # no options table: defaults
    opts = cls()
    opts.fusedActivationFunction = int(rng.integers(0, 4))
    return typ, opts


def arith_case(kind: str, rng: np.random.Generator, dt: type) -> OneOp:
    a, b, o = broadcast_pair(rng)
    ta, tb = quant(rng, a, dt), quant(rng, b, dt)
    if kind == "mul":
        to = quant(rng, o, dt, -4.0, 1.0)
        if dt == np.int16:
            ta.zero_point = tb.zero_point = to.zero_point = 0
    else:
        to = quant(rng, o, dt)
        if dt in (np.int8, np.int16):  # keep TFLM's output multiplier below 1
            floor = 2 * max(ta.scale, tb.scale) / 2 ** (15 if dt == np.int16 else 20)
            to.scale = float(np.float32(max(to.scale, floor * 4)))
    code = {"add": OPS.ADD, "sub": OPS.SUB, "mul": OPS.MUL}[kind]
    typ, opts = activation_options(kind, rng)
    act = opts.fusedActivationFunction if opts else 0
    info = dict(op=kind, dtype=np.dtype(dt).name, a=a, b=b, act=act)
    if ta.scale:
        info.update(
            scales=(ta.scale, tb.scale, to.scale), zps=(ta.zero_point, tb.zero_point, to.zero_point)
        )
    return OneOp(code, [ta, tb], [to], typ, opts, info)


@pytest.mark.parametrize("kind", ["add", "sub", "mul"])
def test_arithmetic_matches_tflm(kind: str) -> None:
    rng = np.random.default_rng({"add": 101, "sub": 102, "mul": 103}[kind])
    dtypes = [np.int8, np.int8, np.float32, np.int16, np.int32]
    for i in range(CASES):
        compare(arith_case(kind, rng, dtypes[i % len(dtypes)]), rng)


@pytest.mark.parametrize("kind", ["add", "sub", "mul"])
def test_int8_arithmetic_on_every_input_pair(kind: str) -> None:
    """All 65536 int8 pairs per model (a column against a row, broadcast), so
    that a multiplier rounded differently (float vs double) shows up."""
    rng = np.random.default_rng({"add": 111, "sub": 112, "mul": 113}[kind])
    every = np.arange(-128, 128, dtype=np.int8)

    def data(r: np.random.Generator, t: T) -> np.ndarray:
        return every.reshape(t.shape)

    for _ in range(12):
        case = arith_case(kind, rng, np.int8)
        case.inputs[0].shape, case.inputs[1].shape = (256, 1), (1, 256)
        case.outputs[0].shape = (256, 256)
        case.info.update(a=(256, 1), b=(1, 256))
        compare(case, rng, runs=1, data_fn=data)


def quantize_multiplier(m: float) -> tuple[int, int]:
    significand, shift = math.frexp(m)
    fixed = math.floor(significand * 2**31 + 0.5)
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    return (0, 0) if shift < -31 else (fixed, shift)


def requantize(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for |x| < 2^16 and shift <= 0 (int64)."""
    ab = x.astype(np.int64) * multiplier
    high = np.where(ab >= 0, (ab + 2**30) >> 31, -((-ab + 2**30 - 1) >> 31))
    mask = (1 << -shift) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> -shift) + ((high & mask) > threshold)


def test_mul_multiplier_uses_the_double_product() -> None:
    """in1 * in2 / out in double, not (float)(in1 * in2): scales are searched
    so that the two rules give different int8 outputs for some input pair."""
    rng = np.random.default_rng(114)
    every = np.arange(-128, 128)
    products = np.unique(every[:, None] * every[None, :])
    found = 0
    for _ in range(4000):
        s1, s2, so = (np.float32(10 ** rng.uniform(-2, 0)) for _ in range(3))
        by_double = quantize_multiplier(float(s1) * float(s2) / float(so))
        by_float = quantize_multiplier(float(np.float32(s1 * s2)) / float(so))
        if by_double == by_float or by_double[1] > 0 or by_float[1] > 0:
            continue
        a, b = requantize(products, *by_double), requantize(products, *by_float)
        if not np.any((a != b) & (np.abs(a) < 100)):
            continue
        case = OneOp(
            OPS.MUL,
            [T((256, 1), np.int8, float(s1), 0), T((1, 256), np.int8, float(s2), 0)],
            [T((256, 256), np.int8, float(so), 0)],
            info=dict(op="mul", scales=(float(s1), float(s2), float(so))),
        )
        compare(case, rng, runs=1, data_fn=lambda r, t: every.astype(np.int8).reshape(t.shape))
        found += 1
        if found == 3:
            break
    assert found == 3


def rounding_shift(x: np.ndarray, multiplier: int, right: int) -> np.ndarray:
    """RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m), right)."""
    ab = x.astype(np.int64) * multiplier
    high = np.where(ab >= 0, (ab + 2**30) >> 31, -((-ab + 2**30 - 1) >> 31))
    mask = (1 << right) - 1
    return (high >> right) + ((high & mask) > (mask >> 1) + (high < 0))


def add16(x1, x2, scales, sign, in_double: bool) -> np.ndarray:
    s1, s2, so = (np.float32(s) for s in scales)
    if in_double:
        twice = 2 * float(max(s1, s2))
        reals = (float(s1) / twice, float(s2) / twice, twice / (2**15 * float(so)))
    else:
        twice = np.float32(2) * max(s1, s2)
        reals = (float(s1 / twice), float(s2 / twice), float(twice / (np.float32(2**15) * so)))
    (m1, e1), (m2, e2), (mo, eo) = (quantize_multiplier(r) for r in reals)
    a = rounding_shift(x1.astype(np.int64) << 15, m1, -e1)
    b = rounding_shift(x2.astype(np.int64) << 15, m2, -e2)
    return np.clip(rounding_shift(a + sign * b, mo, -eo), -32768, 32767)


@pytest.mark.parametrize("kind", ["add", "sub"])
def test_int16_rescale_factors_use_double(kind: str) -> None:
    """TFLM's int16 ADD/SUB form their three rescale factors in double (older
    SUB kernels used float): input pairs are picked where the rules differ."""
    rng = np.random.default_rng(115 if kind == "add" else 116)
    sign = 1 if kind == "add" else -1
    found = 0
    for _ in range(200):
        scales = tuple(float(np.float32(10 ** rng.uniform(-4, -2))) for _ in range(3))
        x1 = rng.integers(-32768, 32768, 20000)
        x2 = rng.integers(-32768, 32768, 20000)
        d = add16(x1, x2, scales, sign, True)
        f = add16(x1, x2, scales, sign, False)
        hits = np.nonzero((d != f) & (np.abs(d) < 32000))[0][:16]
        if len(hits) == 0:
            continue
        n = len(hits)
        code = OPS.ADD if kind == "add" else OPS.SUB
        case = OneOp(
            code,
            [T((n,), np.int16, scales[0], 0), T((n,), np.int16, scales[1], 0)],
            [T((n,), np.int16, scales[2], 0)],
            info=dict(op=kind, scales=scales),
        )
        pairs = iter([x1[hits].astype(np.int16), x2[hits].astype(np.int16)])
        compare(case, rng, runs=1, data_fn=lambda r, t, p=pairs: next(p))
        found += 1
        if found == 3:
            break
    assert found == 3


@pytest.mark.parametrize("kind", ["maximum", "minimum"])
def test_maximum_minimum_match_tflm(kind: str) -> None:
    rng = np.random.default_rng(104 if kind == "maximum" else 105)
    dtypes = [np.int8, np.float32, np.int16, np.int32, np.int8, np.int64]
    code = OPS.MAXIMUM if kind == "maximum" else OPS.MINIMUM
    for i in range(CASES):
        dt = dtypes[i % len(dtypes)]
        a, b, o = broadcast_pair(rng)
        ta, tb, to = quant(rng, a, dt), quant(rng, b, dt), quant(rng, o, dt)
        info = dict(op=kind, dtype=np.dtype(dt).name, a=a, b=b)
        compare(OneOp(code, [ta, tb], [to], info=info), rng)


def test_maximum_minimum_float_nan_and_signed_zero() -> None:
    """TFLM compares raw values: `a > b ? a : b`; NaN and -0.0 follow."""
    rng = np.random.default_rng(106)
    special = np.array([np.nan, -0.0, 0.0, 1.0, -1.0, np.inf, -np.inf], np.float32)

    def data(r: np.random.Generator, t: T) -> np.ndarray:
        return r.choice(special, size=t.shape).astype(np.float32)

    for code in (OPS.MAXIMUM, OPS.MINIMUM):
        for _ in range(5):
            case = OneOp(
                code, [T((7, 7), np.float32), T((7, 7), np.float32)], [T((7, 7), np.float32)]
            )
            case.info = dict(op=code, special=True)
            compare(case, rng, runs=3, data_fn=data)


def prelu_case(rng: np.random.Generator, dt: type) -> OneOp:
    max_rank = 4 if dt == np.float32 else 6
    a, b, o = broadcast_pair(rng, max_rank=max_rank)
    if len(b) > len(a):  # the alpha never has more dimensions than the input
        a, b = b, a
    if a != o:  # nor does it enlarge the input
        b = a
    tin = quant(rng, a, dt)
    tal = quant(rng, b, np.float32 if dt == np.float32 else np.int8, -3.0, 0.0)
    tout = quant(rng, a, dt)
    info = dict(op="prelu", dtype=np.dtype(dt).name, input=a, alpha=b)
    if tin.scale:
        info.update(
            scales=(tin.scale, tal.scale, tout.scale),
            zps=(tin.zero_point, tal.zero_point, tout.zero_point),
        )
    if rng.random() < 0.5:  # a constant alpha, as converters emit
        tal.data = np.asarray(
            rng.integers(-128, 128, size=b) if tal.dtype == np.int8 else rng.standard_normal(b),
            dtype=tal.dtype,
        )
    return OneOp(OPS.PRELU, [tin, tal], [tout], info=info)


def test_prelu_matches_tflm() -> None:
    rng = np.random.default_rng(107)
    for i in range(CASES):
        compare(prelu_case(rng, [np.int8, np.int8, np.float32, np.int16][i % 4]), rng)


# -- refusals and hostile models ----------------------------------------------------


def test_refusals_name_the_operator() -> None:
    mixed = OneOp(
        OPS.ADD,
        [T((2, 3), np.int8, 0.1, 0), T((2, 3), np.int16, 0.1, 0)],
        [T((2, 3), np.int8, 0.1, 0)],
    )
    err = engine_error(mixed.build())
    assert err.status == Status.UNSUPPORTED
    assert err.message == (
        "ADD (op index 0): int8 and int16 inputs with int8 output are not supported "
        "(types must match)"
    )
    tanh_act = schema.MulOptionsT()
    tanh_act.fusedActivationFunction = 4
    m = OneOp(OPS.MUL, [T((3,), np.float32)] * 2, [T((3,), np.float32)], OPTS.MulOptions, tanh_act)
    err = engine_error(m.build())
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "MUL (op index 0): fused activation TANH is not supported",
    )
    u8 = OneOp(OPS.SUB, [T((3,), np.uint8, 0.1, 3)] * 2, [T((3,), np.uint8, 0.1, 3)])
    err = engine_error(u8.build())
    assert err.message == "SUB (op index 0): uint8 tensors are not supported"
    i16 = OneOp(OPS.MUL, [T((3,), np.int16, 0.1, 1)] * 2, [T((3,), np.int16, 0.1, 0)])
    assert engine_error(i16.build()).message == "MUL (op index 0): int16 zero points must be 0"
    assert oracle_refuses(i16.build())
    prelu = OneOp(
        OPS.PRELU, [T((3,), np.int8, 0.1, 1), T((3,), np.int16, 0.1, 0)], [T((3,), np.int8, 0.1, 0)]
    )
    assert engine_error(prelu.build()).message == (
        "PRELU (op index 0): int8 input with int16 alpha and int8 output is not supported"
    )
    deep = OneOp(
        OPS.PRELU, [T((1,) * 5, np.float32), T((1,), np.float32)], [T((1,) * 5, np.float32)]
    )
    assert (
        engine_error(deep.build()).message == "PRELU (op index 0): rank 5 is above the supported 4"
    )


def test_hostile_shapes_and_quantization_are_refused() -> None:
    bad_bcast = OneOp(
        OPS.ADD, [T((2, 3), np.float32), T((4, 3), np.float32)], [T((4, 3), np.float32)]
    )
    err = engine_error(bad_bcast.build())
    assert err.status == Status.MODEL_INVALID
    assert "shapes do not broadcast" in err.message
    wrong_out = OneOp(
        OPS.MUL, [T((2, 3), np.float32), T((3,), np.float32)], [T((2, 4), np.float32)]
    )
    assert engine_error(wrong_out.build()).status == Status.MODEL_INVALID
    no_quant = OneOp(
        OPS.ADD, [T((3,), np.int8), T((3,), np.int8, 0.5, 0)], [T((3,), np.int8, 0.5, 0)]
    )
    err = engine_error(no_quant.build())
    assert err.message == "ADD (op index 0): int8 input 1 tensor has no quantization parameters"
    zero_scale = OneOp(OPS.SUB, [T((3,), np.int8, 0.0, 0)] * 2, [T((3,), np.int8, 0.5, 0)])
    assert engine_error(zero_scale.build()).status == Status.MODEL_INVALID
    # an output scale so small that TFLM would abort on its multiplier check
    tiny = OneOp(OPS.ADD, [T((3,), np.int8, 1.0, 0)] * 2, [T((3,), np.int8, 1e-9, 0)])
    err = engine_error(tiny.build())
    assert err.status == Status.UNSUPPORTED and "rescale factor" in err.message
    one_input = OneOp(OPS.MAXIMUM, [T((3,), np.float32)], [T((3,), np.float32)])
    err = engine_error(one_input.build())
    assert err.message == "MAXIMUM (op index 0): expects 2 input(s) and 1 output, has 1 and 1"


def test_empty_and_scalar_tensors() -> None:
    rng = np.random.default_rng(108)
    scalar = OneOp(OPS.ADD, [T((), np.float32), T((2, 3), np.float32)], [T((2, 3), np.float32)])
    scalar.info = dict(case="scalar + matrix")
    compare(scalar, rng)
    empty = OneOp(
        OPS.MUL,
        [T((0, 3), np.int8, 0.1, 1), T((3,), np.int8, 0.2, 0)],
        [T((0, 3), np.int8, 0.3, 0)],
    )
    model = empty.build()
    from hil.devtools.engine_host import HostEngine

    with HostEngine(model, 1 << 16) as engine:
        engine.set_input(0, np.zeros((0, 3), np.int8))
        engine.set_input(1, np.zeros((3,), np.int8))
        engine.invoke()
        assert engine.get_output(0).shape == (0, 3)

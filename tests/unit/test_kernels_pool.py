"""Pooling and reduction kernels (AVERAGE_POOL_2D, MAX_POOL_2D, MEAN) of hil's
engine against TFLM's host interpreter: random single-op models (shapes,
SAME/VALID padding, strides, filter sizes, fused activations; MEAN axes and
keep_dims; scales and zero points), each run on two random inputs.
int8/int16 must be bit-exact and so must float32 (0 ulp: the sums run in
TFLM's order). The RNG is seeded and failures print their parameters."""

from __future__ import annotations

import numpy as np
import pytest

from hil.devtools.engine_host import HostEngine
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
    run_oracle,
    schema,
)

CASES = 210


def pool_out(padding: int, size: int, filt: int, stride: int) -> int:
    return (size + stride - 1) // stride if padding == 0 else (size + stride - filt) // stride


def pool_case(rng: np.random.Generator, code: int, dt: type) -> OneOp:
    while True:
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 9))
        h, w = (int(v) for v in rng.integers(1, 13, size=2))
        fh, fw = (int(v) for v in rng.integers(1, 6, size=2))
        if rng.random() < 0.1:  # global pooling, as in the MLPerf models
            fh, fw = h, w
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        padding = int(rng.integers(0, 2))
        oh, ow = pool_out(padding, h, fh, sh), pool_out(padding, w, fw, sw)
        if oh > 0 and ow > 0:
            break
    opts = schema.Pool2DOptionsT()
    opts.padding, opts.strideH, opts.strideW = padding, sh, sw
    opts.filterHeight, opts.filterWidth = fh, fw
    opts.fusedActivationFunction = int(rng.integers(0, 4))
    if dt == np.float32:
        tin, tout = T((n, h, w, c), dt), T((n, oh, ow, c), dt)
    else:
        scale, zp = rand_scale(rng, -2.5, 0.5), rand_zp(rng, dt)
        tin, tout = T((n, h, w, c), dt, scale, zp), T((n, oh, ow, c), dt, scale, zp)
    info = dict(
        op=code,
        dtype=np.dtype(dt).name,
        input=tin.shape,
        output=tout.shape,
        filter=(fh, fw),
        stride=(sh, sw),
        padding="SAME" if padding == 0 else "VALID",
        act=opts.fusedActivationFunction,
        scale=tin.scale,
        zp=tin.zero_point,
    )
    return OneOp(code, [tin], [tout], OPTS.Pool2DOptions, opts, info)


@pytest.mark.parametrize("code", [OPS.AVERAGE_POOL_2D, OPS.MAX_POOL_2D], ids=["avg", "max"])
def test_pooling_matches_tflm(code: int) -> None:
    rng = np.random.default_rng(201 if code == OPS.AVERAGE_POOL_2D else 202)
    dtypes = [np.int8, np.int8, np.float32, np.int16]
    for i in range(CASES):
        compare(pool_case(rng, code, dtypes[i % len(dtypes)]), rng)


def test_pooling_refusals_and_hostile_options() -> None:
    def case(**kw) -> bytes:
        opts = schema.Pool2DOptionsT()
        opts.padding, opts.strideH, opts.strideW, opts.filterHeight, opts.filterWidth = (
            kw.get("padding", 1),
            kw.get("sh", 1),
            kw.get("sw", 1),
            kw.get("fh", 2),
            kw.get("fw", 2),
        )
        dt = kw.get("dt", np.int8)
        q = dict(scale=0.5, zero_point=3) if dt != np.float32 else {}
        qo = dict(scale=kw.get("out_scale", 0.5), zero_point=3) if dt != np.float32 else {}
        tin = T((1, 4, 4, 2), dt, **q)
        tout = T(kw.get("out", (1, 3, 3, 2)), dt, **qo)
        return OneOp(
            kw.get("code", OPS.AVERAGE_POOL_2D), [tin], [tout], OPTS.Pool2DOptions, opts
        ).build()

    for bad in (dict(sh=0), dict(sw=-1), dict(fh=0), dict(fw=-5), dict(padding=7)):
        err = engine_error(case(**bad))
        assert err.status == Status.MODEL_INVALID, (bad, err)
        assert err.message.startswith("AVERAGE_POOL_2D (op index 0): ")
    err = engine_error(case(sh=0))
    assert err.message == "AVERAGE_POOL_2D (op index 0): stride 0 x 1 must be at least 1"
    err = engine_error(case(out=(1, 2, 2, 2)))
    assert err.status == Status.MODEL_INVALID and "does not match the pooled input" in err.message
    err = engine_error(case(out_scale=0.25, code=OPS.MAX_POOL_2D))
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "MAX_POOL_2D (op index 0): input and output quantization differ "
        "(scale and zero point must match)",
    )
    assert oracle_refuses(case(out_scale=0.25, code=OPS.MAX_POOL_2D))
    err = engine_error(case(dt=np.int32))
    assert err.message == "AVERAGE_POOL_2D (op index 0): int32 tensors are not supported"
    no_options = OneOp(
        OPS.MAX_POOL_2D, [T((1, 2, 2, 1), np.float32)], [T((1, 1, 1, 1), np.float32)]
    )
    assert (
        engine_error(no_options.build()).message
        == "MAX_POOL_2D (op index 0): Pool2DOptions are missing"
    )
    huge = case(fh=2**30, fw=2**30, padding=0, out=(1, 4, 4, 2))
    assert engine_error(huge).status == Status.UNSUPPORTED


# -- MEAN ---------------------------------------------------------------------------


def mean_case(rng: np.random.Generator, dt: type, special: bool = False) -> OneOp:
    if special:  # 4-D over H and W, the MLPerf-style global average
        shape = (
            int(rng.integers(1, 3)),
            *(int(v) for v in rng.integers(1, 9, 2)),
            int(rng.integers(1, 9)),
        )
        axes = [1, 2] if rng.random() < 0.5 else [2, 1]
        keep = bool(rng.random() < 0.7)
    else:
        rank = int(rng.integers(1, 7))
        shape = tuple(int(v) for v in rng.integers(1, 6 if rank < 5 else 4, size=rank))
        n_axes = int(rng.integers(0 if rng.random() < 0.05 else 1, min(rank, 3) + 1))
        axes = [int(a) for a in rng.choice(rank, size=n_axes, replace=False)]
        axes = [a - rank if rng.random() < 0.3 else a for a in axes]  # negative axes too
        if axes and rng.random() < 0.15:
            axes.append(axes[0])  # duplicates are ignored
        keep = bool(rng.random() < 0.5)
    rank = len(shape)
    resolved = {a % rank for a in axes}
    out_shape = tuple(
        1 if i in resolved else d for i, d in enumerate(shape) if keep or i not in resolved
    )
    axis = T((len(axes),), np.int32, data=np.array(axes, np.int32))
    if dt == np.float32:
        tin, tout = T(shape, dt), T(out_shape, dt)
    else:
        tin = T(shape, dt, rand_scale(rng, -2.5, 0.5), rand_zp(rng, dt))
        if rng.random() < 0.3:  # same quantization (older TFLM truncated here)
            tout = T(out_shape, dt, tin.scale, tin.zero_point)
        else:
            tout = T(out_shape, dt, rand_scale(rng, -2.5, 0.5), rand_zp(rng, dt))
    opts = schema.ReducerOptionsT()
    opts.keepDims = keep
    info = dict(
        op="mean",
        dtype=np.dtype(dt).name,
        input=shape,
        axes=axes,
        keep_dims=keep,
        quant=(tin.scale, tin.zero_point, tout.scale, tout.zero_point),
    )
    return OneOp(OPS.MEAN, [tin, axis], [tout], OPTS.ReducerOptions, opts, info)


def test_mean_matches_tflm() -> None:
    rng = np.random.default_rng(203)
    dtypes = [np.int8, np.int8, np.float32, np.int16]
    for i in range(CASES):
        compare(mean_case(rng, dtypes[i % len(dtypes)], special=i % 3 == 0), rng)


def test_mean_int8_rounds_for_every_axis_set() -> None:
    """The oracle's int8 MEAN folds 1/count into the requantization for all
    axes, also for 4-D axes {1, 2} with equal input and output quantization,
    where older TFLM truncated (sum / count): mean(1, 2) is 2 here, not 1."""
    axis = T((2,), np.int32, data=np.array([1, 2], np.int32))
    opts = schema.ReducerOptionsT()
    opts.keepDims = True
    case = OneOp(
        OPS.MEAN,
        [T((1, 1, 2, 1), np.int8, 0.5, 0), axis],
        [T((1, 1, 1, 1), np.int8, 0.5, 0)],
        OPTS.ReducerOptions,
        opts,
    )
    x = np.array([1, 2], np.int8).reshape(1, 1, 2, 1)
    assert run_oracle(case.build(), [x])[0].item() == 2
    with HostEngine(case.build(), 1 << 16) as engine:
        engine.set_input(0, x)
        engine.invoke()
        assert engine.get_output(0).item() == 2


def test_mean_refusals() -> None:
    def model(axes: list[int], constant: bool = True, dt=np.float32, shape=(2, 3)) -> bytes:
        data = np.array(axes, np.int32) if constant else None
        axis = T((len(axes),), np.int32, data=data)
        q = dict(scale=0.5, zero_point=1) if dt != np.float32 else {}
        return OneOp(OPS.MEAN, [T(shape, dt, **q), axis], [T((2,), dt, **q)]).build()

    err = engine_error(model([5]))
    assert (err.status, err.message) == (
        Status.MODEL_INVALID,
        "MEAN (op index 0): axis 5 is out of range for rank 2",
    )
    assert engine_error(model([-3])).status == Status.MODEL_INVALID
    err = engine_error(model([1], constant=False))
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        "MEAN (op index 0): the axis tensor must be constant",
    )
    err = engine_error(model([1], dt=np.int32))
    assert err.message == "MEAN (op index 0): int32 input is not supported"
    err = engine_error(model([0]))  # wrong output element count
    assert err.status == Status.MODEL_INVALID and "elements" in err.message


def test_mean_of_an_empty_axis_is_zero() -> None:
    axis = T((1,), np.int32, data=np.array([0], np.int32))
    case = OneOp(OPS.MEAN, [T((0, 3), np.float32), axis], [T((3,), np.float32)])
    with HostEngine(case.build(), 1 << 16) as engine:
        engine.set_input(0, np.zeros((0, 3), np.float32))
        engine.invoke()
        assert engine.get_output(0).tolist() == [0.0, 0.0, 0.0]

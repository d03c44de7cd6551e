"""Recurrent kernels (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM) of hil's engine
against TFLM's host interpreter.

State lives in variable tensors that persist across invokes, so every
generated single-op model runs a random sequence of invokes without a reset
and is compared with TFLM after EVERY step; then both interpreters are reset
and the same sequence must give the same outputs again (hil's
reset_variables against a fresh run, and TFLM's reset() agreeing).
int8 results must be bit-exact; float32 too (tolerance 0 ulp: the engine
keeps TFLM's operation order and calls the same libm functions).

The three real recurrent models run 20-step seeded sequences, bit-exact at
each step, and must fit in no more arena than TFLM reports for them."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.python.tflite_micro import runtime

from hil.devtools.engine_host import EngineError, HostEngine, asan_env, build_library
from hil.errors import Status, ToolMissingError
from tests.model_builder import ModelBuilder
from tests.unit.kernel_oracle import OPS, OPTS, schema

CASES = 200  # generated models per operator variant (SVDF: 3 variants, LSTM: 2)
ORACLE_ARENA = 1 << 20
ENGINE_ARENA = 1 << 20
LSTM_INPUTS = 24
TANH = 4


def f32(x: float) -> float:
    return float(np.float32(x))


def rand_scale(rng: np.random.Generator, lo: float, hi: float) -> float:
    return f32(10 ** rng.uniform(lo, hi))


# -- model generation ------------------------------------------------------------------


@dataclass
class Recurrent:
    """A single recurrent op model, the shape/dtype of its graph input and the
    parameters to print when it fails."""

    model: bytes
    input_shape: tuple[int, ...]
    input_dtype: np.dtype
    info: dict = field(default_factory=dict)

    def inputs(self, rng: np.random.Generator, steps: int) -> list[np.ndarray]:
        if self.input_dtype == np.float32:
            scale = 10 ** rng.uniform(-1, 0.5)
            return [
                (rng.standard_normal(self.input_shape) * scale).astype(np.float32)
                for _ in range(steps)
            ]
        return [rng.integers(-128, 128, self.input_shape).astype(np.int8) for _ in range(steps)]


def svdf_options(rank: int, act: int) -> schema.SVDFOptionsT:
    o = schema.SVDFOptionsT()
    o.rank = rank
    o.fusedActivationFunction = act
    return o


def build_svdf(
    rng: np.random.Generator,
    kind: str,
    batches: int,
    input_size: int,
    rank: int,
    units: int,
    memory: int,
    act: int = 0,
) -> Recurrent:
    """kind: 'int8_s16' (int16 weights_time/state), 'int8_s8' or 'float32'."""
    filters = rank * units
    b = ModelBuilder()
    info = dict(
        op="SVDF", kind=kind, batches=batches, input_size=input_size, rank=rank, units=units,
        memory=memory, act=act,
    )  # fmt: skip
    if kind == "float32":
        x = b.tensor((batches, input_size), np.float32, name="x")
        wf_data = rng.standard_normal((filters, input_size)).astype(np.float32)
        wt_data = (rng.standard_normal((filters, memory)) * 0.5).astype(np.float32)
        wf = b.tensor((filters, input_size), np.float32, data=wf_data)
        wt = b.tensor((filters, memory), np.float32, data=wt_data)
        bias = b.tensor((units,), np.float32, data=rng.standard_normal(units).astype(np.float32))
        state = b.tensor((batches, memory * filters), np.float32, name="state")
        y = b.tensor((batches, units), np.float32, name="y")
        in_dtype = np.dtype(np.float32)
    else:
        sdt = np.int16 if kind == "int8_s16" else np.int8
        s_lo, s_hi = (-32768, 32767) if sdt == np.int16 else (-128, 127)
        in_s = rand_scale(rng, -3, 0)
        in_zp = int(rng.integers(-128, 128))
        wf_s = rand_scale(rng, -3, -1)
        wt_s = rand_scale(rng, -4, -1)
        # A state scale that puts typical feature projections near `target`
        # state units (sometimes far out, to exercise the clamp).
        typical = 128 * 74 * math.sqrt(input_size) * in_s * wf_s
        target = (1000 if sdt == np.int16 else 40) * 10 ** rng.uniform(-1, 0.8)
        st_s = f32(typical / target)
        if rng.random() < 0.15:
            # extremes; for int16, w * (state - zp) then overflows int32 and wraps
            extremes = [s_lo, s_hi, 0] if sdt == np.int16 else [-128, 127, 100, -100]
            st_zp = int(rng.choice(extremes))
        else:
            st_zp = int(rng.integers(-20, 21))
        w_hi = 2000 if sdt == np.int16 else 127
        acc = w_hi * 0.6 * target * math.sqrt(memory * rank)
        out_s = f32(st_s * wt_s * acc / (60 * 10 ** rng.uniform(-0.5, 0.5)))
        out_zp = int(rng.integers(-128, 128))
        bias_s = f32(np.float32(st_s) * np.float32(wt_s))
        x = b.tensor((batches, input_size), np.int8, scale=in_s, zero_point=in_zp, name="x")
        wf_data = rng.integers(-127, 128, (filters, input_size)).astype(np.int8)
        wt_data = rng.integers(-w_hi, w_hi + 1, (filters, memory)).astype(sdt)
        wf = b.tensor((filters, input_size), np.int8, scale=wf_s, data=wf_data)
        wt = b.tensor((filters, memory), sdt, scale=wt_s, data=wt_data)
        bias_q = rng.integers(-1, 2, units) * int(acc // 4)
        bias = b.tensor((units,), np.int32, scale=bias_s, data=bias_q.astype(np.int32))
        state = b.tensor((batches, memory * filters), sdt, scale=st_s, zero_point=st_zp,
                         name="state")  # fmt: skip
        y = b.tensor((batches, units), np.int8, scale=out_s, zero_point=out_zp, name="y")
        in_dtype = np.dtype(np.int8)
        info.update(scales=(in_s, wf_s, wt_s, st_s, out_s), zps=(in_zp, st_zp, out_zp))
    b.tensors[state].isVariable = True
    b.operator(OPS.SVDF, [x, wf, wt, bias, state], [y], OPTS.SVDFOptions,
               svdf_options(rank, act))  # fmt: skip
    b.inputs, b.outputs = [x], [y]
    return Recurrent(b.build(), (batches, input_size), in_dtype, info)


def svdf_case(rng: np.random.Generator, i: int) -> Recurrent:
    kind = ["int8_s16", "int8_s8", "float32"][i % 3]
    rank = int(rng.integers(1, 4))
    return build_svdf(
        rng,
        kind,
        batches=int(rng.integers(1, 4)),
        input_size=int(rng.integers(1, 12)),
        rank=rank,
        units=int(rng.integers(1, 6)),
        memory=int(rng.integers(1, 9)),
        act=int(rng.integers(0, 6)),
    )


def lstm_options(
    act: int = TANH, clip: float = 0.0, time_major: bool = False, proj_clip: float = 0.0
) -> schema.UnidirectionalSequenceLSTMOptionsT:
    o = schema.UnidirectionalSequenceLSTMOptionsT()
    o.fusedActivationFunction = act
    o.cellClip = clip
    o.projClip = proj_clip
    o.timeMajor = time_major
    return o


@dataclass
class LstmSpec:
    """Parameters of a generated LSTM model (see build_lstm)."""

    kind: str = "int8"  # or "float32"
    batches: int = 1
    steps: int = 3
    input_size: int = 4
    state_size: int = 5
    time_major: bool = False
    clip: float = 0.0
    act: int = TANH
    cell_power: float = -11.0  # cell scale 2^power (fractional: not a power of two)
    weight_zp: bool = False
    extra: dict = field(default_factory=dict)  # input index -> ("weights"|"vector", dtype)
    drop: tuple[int, ...] = ()  # inputs set to -1
    per_channel: bool = False
    options: bool = True


def build_lstm(rng: np.random.Generator, spec: LstmSpec) -> Recurrent:
    b = ModelBuilder()
    n_in, n_s = spec.input_size, spec.state_size
    lead = (spec.steps, spec.batches) if spec.time_major else (spec.batches, spec.steps)
    info = dict(op="UNIDIRECTIONAL_SEQUENCE_LSTM", **{
        k: v for k, v in vars(spec).items() if k not in ("extra", "drop")
    })  # fmt: skip
    ins = [-1] * LSTM_INPUTS
    if spec.kind == "float32":
        ins[0] = b.tensor((*lead, n_in), np.float32, name="x")
        for g in range(4):
            w = (rng.standard_normal((n_s, n_in)) / math.sqrt(n_in)).astype(np.float32)
            r = (rng.standard_normal((n_s, n_s)) / math.sqrt(n_s)).astype(np.float32)
            ins[1 + g] = b.tensor((n_s, n_in), np.float32, data=w)
            ins[5 + g] = b.tensor((n_s, n_s), np.float32, data=r)
            bias = (rng.standard_normal(n_s) * 0.5).astype(np.float32)
            ins[12 + g] = b.tensor((n_s,), np.float32, data=bias)
        ins[18] = b.tensor((spec.batches, n_s), np.float32, name="h")
        ins[19] = b.tensor((spec.batches, n_s), np.float32, name="c")
        y = b.tensor((*lead, n_s), np.float32, name="y")
        in_dtype = np.dtype(np.float32)
    else:
        x_s = rand_scale(rng, -2.5, -0.5)
        x_zp = int(rng.integers(-128, 128))
        h_s = f32(10 ** rng.uniform(-0.5, 0.3) / 128)
        h_zp = int(rng.integers(-30, 31))
        c_s = f32(2.0**spec.cell_power)
        ins[0] = b.tensor((*lead, n_in), np.int8, scale=x_s, zero_point=x_zp, name="x")
        scales = []
        for g in range(4):
            # Gate pre-activations of a few units (Q3.12 covers +-8).
            w_s = f32(10 ** rng.uniform(-0.5, 0.5) / (x_s * 128 * 74 * math.sqrt(n_in)) * 2)
            r_s = f32(10 ** rng.uniform(-0.5, 0.5) / (h_s * 128 * 74 * math.sqrt(n_s)) * 2)
            w_zp = int(rng.integers(-3, 4)) if spec.weight_zp else 0
            w = rng.integers(-127, 128, (n_s, n_in)).astype(np.int8)
            r = rng.integers(-127, 128, (n_s, n_s)).astype(np.int8)
            if spec.per_channel and g == 1:
                ins[1 + g] = b.tensor((n_s, n_in), np.int8, data=w, scale=[w_s] * n_s,
                                      zero_point=[0] * n_s)  # fmt: skip
            else:
                ins[1 + g] = b.tensor((n_s, n_in), np.int8, data=w, scale=w_s, zero_point=w_zp)
            ins[5 + g] = b.tensor((n_s, n_s), np.int8, data=r, scale=r_s, zero_point=w_zp)
            bias_real = rng.uniform(-1, 1, n_s)
            bias = np.round(bias_real / (x_s * w_s)).astype(np.int32)
            ins[12 + g] = b.tensor((n_s,), np.int32, data=bias, scale=f32(x_s * w_s))
            scales.append((w_s, r_s))
        ins[18] = b.tensor((spec.batches, n_s), np.int8, scale=h_s, zero_point=h_zp, name="h")
        ins[19] = b.tensor((spec.batches, n_s), np.int16, scale=c_s, zero_point=0, name="c")
        y = b.tensor((*lead, n_s), np.int8, scale=h_s, zero_point=h_zp, name="y")
        in_dtype = np.dtype(np.int8)
        info.update(x=(x_s, x_zp), h=(h_s, h_zp), c=c_s, gate_scales=scales)
    for index, (what, dt) in spec.extra.items():
        shape = (n_s, n_s) if what == "weights" else (n_s,)
        data = np.ones(shape, dt)
        ins[index] = b.tensor(shape, dt, data=data, scale=0.01 if dt != np.float32 else None)
    for index in spec.drop:
        ins[index] = -1
    b.tensors[ins[18]].isVariable = True
    b.tensors[ins[19]].isVariable = True
    opts = lstm_options(spec.act, spec.clip, spec.time_major) if spec.options else None
    b.operator(OPS.UNIDIRECTIONAL_SEQUENCE_LSTM, ins, [y],
               OPTS.UnidirectionalSequenceLSTMOptions if spec.options else 0, opts)  # fmt: skip
    b.inputs, b.outputs = [ins[0]], [y]
    return Recurrent(b.build(), (*lead, n_in), in_dtype, info)


def lstm_case(rng: np.random.Generator, i: int, kind: str | None = None) -> Recurrent:
    kind = kind or ("float32" if i % 4 == 3 else "int8")
    power = float(rng.integers(-15, -8))
    if rng.random() < 0.1:
        power += float(rng.uniform(-0.3, 0.3))  # TFLM rounds log2; not refused
    clip = 0.0 if rng.random() < 0.5 else f32(10 ** rng.uniform(-1.5, 1))
    spec = LstmSpec(
        kind=kind,
        batches=int(rng.integers(1, 4)),
        steps=int(rng.integers(1, 5)),
        input_size=int(rng.integers(1, 10)),
        state_size=int(rng.integers(1, 10)),
        time_major=bool(rng.random() < 0.4),
        clip=clip,
        cell_power=power,
        weight_zp=bool(rng.random() < 0.2),
    )
    return build_lstm(rng, spec)


# -- running ---------------------------------------------------------------------------


def oracle(model: bytes) -> runtime.Interpreter:
    return runtime.Interpreter.from_bytes(model, arena_size=ORACLE_ARENA)


def run(interp, xs: list[np.ndarray], is_engine: bool) -> list[np.ndarray]:
    outs = []
    for x in xs:
        if is_engine:
            interp.set_input(0, x)
            interp.invoke()
            outs.append(interp.get_output(0))
        else:
            interp.set_input(x, 0)
            interp.invoke()
            outs.append(interp.get_output(0).copy())
    return outs


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_sequence(case: Recurrent, rng: np.random.Generator, steps: int) -> None:
    """Run `steps` invokes on both interpreters without reset, compare each
    step; reset both and rerun: TFLM and hil must again agree with each other
    and with the first (fresh) run."""
    try:
        engine = HostEngine(case.model, ENGINE_ARENA)
    except EngineError as exc:
        raise AssertionError(f"engine refused {case.info}: {exc}") from exc
    tflm = oracle(case.model)
    xs = case.inputs(rng, steps)
    try:
        first = None
        for attempt in ("fresh", "after reset"):
            expected = run(tflm, xs, False)
            actual = run(engine, xs, True)
            for step, (e, a) in enumerate(zip(expected, actual, strict=True)):
                if not same_bits(e, a):
                    where = np.argwhere(e != a)
                    raise AssertionError(
                        f"{attempt} step {step} differs for {case.info}\n"
                        f" first at {where[0].tolist() if len(where) else '?'}: "
                        f"tflm={e.ravel()[:8]} hil={a.ravel()[:8]}"
                    )
            if first is None:
                first = expected
            else:
                for step, (f, e) in enumerate(zip(first, expected, strict=True)):
                    assert same_bits(f, e), f"reset did not restore step {step}: {case.info}"
            engine.reset_variables()
            tflm.reset()
    finally:
        engine.close()


def covered(seen: Counter[str], needs: dict[str, int]) -> None:
    """The generator reached every feature the sweep is meant to cover."""
    short = {k: (seen[k], n) for k, n in needs.items() if seen[k] < n}
    assert not short, f"features seen (count, needed): {short}"


def test_svdf_matches_tflm_over_sequences() -> None:
    """CASES models of each SVDF variant TFLM has (int8 with int16 state,
    int8 with int8 state, float32), each over 3-7 invocations compared at
    every step, then again after a reset."""
    rng = np.random.default_rng(901)
    seen: Counter[str] = Counter()
    for i in range(3 * CASES):
        case = svdf_case(rng, i)
        steps = int(rng.integers(3, 8))
        check_sequence(case, rng, steps=steps)
        info = case.info
        seen.update([info["kind"], f"act{info['act']}"])
        seen.update(k for k in ("batches", "rank", "units") if info[k] > 1)
        seen.update(["memory1"] if info["memory"] == 1 else [])
        seen.update(["state_zp_extreme"] if abs(info.get("zps", (0, 0))[1]) > 20 else [])
    covered(seen, {"int8_s16": CASES, "int8_s8": CASES, "float32": CASES, "batches": 200,
                   "rank": 200, "units": 200, "memory1": 30, "state_zp_extreme": 30,
                   **{f"act{a}": 50 for a in range(6)}})  # fmt: skip


def test_lstm_matches_tflm_over_sequences() -> None:
    """CASES int8 models (int8 activations, int16 cell state, per-gate
    scales) and CASES float32 ones, each over 2-4 invocations of 1-4 time
    steps compared at every invocation, then again after a reset.
    Projection, peephole, layer normalization and CIFG: TFLM refuses them
    (test_lstm_variants_are_refused_by_name)."""
    rng = np.random.default_rng(902)
    seen: Counter[str] = Counter()
    for i in range(2 * CASES):
        case = lstm_case(rng, i, kind="int8" if i % 2 else "float32")
        check_sequence(case, rng, steps=int(rng.integers(2, 5)))
        info = case.info
        seen[info["kind"]] += 1
        seen.update(k for k in ("time_major", "weight_zp") if info[k])
        seen.update(k for k in ("batches", "steps", "input_size", "state_size") if info[k] > 1)
        seen.update(["clip"] if info["clip"] > 0 else [])
        seen.update(["cell_power_fraction"] if info["cell_power"] % 1 else [])
    covered(seen, {"int8": CASES, "float32": CASES, "time_major": 100, "weight_zp": 40,
                   "batches": 200, "steps": 200, "clip": 150,
                   "cell_power_fraction": 20})  # fmt: skip


def test_lstm_large_models_match_tflm() -> None:
    """Wider gates and longer sequences: the gate FC multipliers are formed
    from the double product in_s * w_s (a float product gives different
    multipliers that shows up in a few percent of these models)."""
    rng = np.random.default_rng(903)
    for i in range(40):
        spec = LstmSpec(batches=2, steps=12, input_size=32, state_size=32,
                        time_major=bool(i % 2), cell_power=float(-11 - i % 4),
                        clip=0.0 if i % 3 else 3.0)  # fmt: skip
        check_sequence(build_lstm(rng, spec), rng, steps=2)


# -- targeted facts ----------------------------------------------------------------


def quantize_multiplier(m: float) -> tuple[int, int]:
    significand, shift = math.frexp(m)
    fixed = math.floor(significand * 2**31 + 0.5)
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    return (0, 0) if shift < -31 else (fixed, shift)


def requantize(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for |x| < 2^16 and shift <= 0."""
    ab = x.astype(np.int64) * multiplier
    high = np.where(ab >= 0, (ab + 2**30) >> 31, -((-ab + 2**30 - 1) >> 31))
    mask = (1 << -shift) - 1
    return (high >> -shift) + ((high & mask) > (mask >> 1) + (high < 0))


def rules(a: float, b: float, c: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """QuantizeMultiplier of a * b / c formed in double, and in float."""
    by_double = quantize_multiplier(f32(a) * f32(b) / f32(c))
    by_float = quantize_multiplier(float(np.float32(a) * np.float32(b) / np.float32(c)))
    return by_double, by_float


PRODUCTS = np.arange(-127, 128)[:, None] * np.arange(-128, 128)[None, :]  # weight x input


def factor_case(rng: np.random.Generator, which: str):
    """A memory-1 SVDF whose output shows one rescale factor at work:
    'state': unit time weights and an identity output factor, so the output
    is the new state value; 'output': unit feature weights and an identity
    state factor, so the state is the input. Scales and (weight, input) pairs
    are searched where the double and float rules round differently. Returns
    (model, inputs, weights, double rule, float rule) or None."""
    a = f32(10 ** rng.uniform(-2, 0)) if which == "state" else 2.0**-10
    b = f32(10 ** rng.uniform(-3, -1))
    c = f32(a * b / 10 ** rng.uniform(-2.3, -2.1))
    by_double, by_float = rules(a, b, c)
    if by_double == by_float or max(by_double[1], by_float[1]) > 0:
        return None
    pw = PRODUCTS
    d = np.clip(requantize(pw, *by_double), -128, 127)
    f = np.clip(requantize(pw, *by_float), -128, 127)
    ws, xs = np.nonzero(d != f)
    if len(ws) == 0:
        return None
    pick = rng.choice(len(ws), size=min(6, len(ws)), replace=False)
    weights = (ws[pick] - 127).astype(np.int8)
    inputs = [np.array([[xs[k] - 128]], np.int8) for k in pick]
    n = len(weights)
    ones = np.ones((n, 1), np.int8)
    if which == "state":  # x a, feature weights b, state c; output factor 1
        in_s, wf_s, st_s, wt_s = a, b, c, 0.01
        out_s = f32(np.float32(st_s) * np.float32(wt_s))
        wf_data, wt_data = weights.reshape(n, 1), ones
    else:  # state factor 1 (powers of two); state a, time weights b, output c
        in_s, wf_s, st_s, wt_s, out_s = 2.0**-4, 2.0**-6, a, b, c
        wf_data, wt_data = ones, weights.reshape(n, 1)
    bld = ModelBuilder()
    x = bld.tensor((1, 1), np.int8, scale=in_s, zero_point=0)
    wf = bld.tensor((n, 1), np.int8, scale=wf_s, data=wf_data)
    wt = bld.tensor((n, 1), np.int8, scale=wt_s, data=wt_data)
    bias = bld.tensor((n,), np.int32, scale=f32(np.float32(st_s) * np.float32(wt_s)),
                      data=np.zeros(n, np.int32))  # fmt: skip
    state = bld.tensor((1, n), np.int8, scale=st_s, zero_point=0)
    y = bld.tensor((1, n), np.int8, scale=out_s, zero_point=0)
    bld.tensors[state].isVariable = True
    bld.operator(OPS.SVDF, [x, wf, wt, bias, state], [y], OPTS.SVDFOptions, svdf_options(1, 0))
    bld.inputs, bld.outputs = [x], [y]
    return bld.build(), inputs, weights, by_double, by_float


@pytest.mark.parametrize("which", ["state", "output"])
def test_svdf_rescale_factors_are_formed_in_double(which: str) -> None:
    """The oracle forms in_s * wf_s / state_s and state_s * wt_s / out_s in
    double (TFLM's older SVDF kernel formed them in float): on inputs where
    the two rules differ, TFLM follows the double one and so does hil."""
    rng = np.random.default_rng(904 if which == "state" else 914)
    found = 0
    for _ in range(2000):
        made = factor_case(rng, which)
        if made is None:
            continue
        model, inputs, weights, by_double, by_float = made
        expected = run(oracle(model), inputs, False)
        with HostEngine(model, ENGINE_ARENA) as engine:
            actual = run(engine, inputs, True)
        predicted = {}
        for rule, qm in (("double", by_double), ("float", by_float)):
            predicted[rule] = [
                np.clip(requantize(weights.astype(np.int64) * int(x[0, 0]), *qm), -128, 127)
                for x in inputs
            ]
        for step, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert same_bits(e, a), f"{which} step {step}: tflm {e} hil {a}"
            assert np.array_equal(e.ravel(), predicted["double"][step])
        assert any(
            not np.array_equal(e.ravel(), p)
            for e, p in zip(expected, predicted["float"], strict=True)
        )
        found += 1
        if found == 3:
            break
    assert found >= 2


def test_svdf_state_clamps_before_its_zero_point() -> None:
    """The int8 state is the feature projection clamped to [-128, 127], then
    the zero point added and the sum narrowed with wrap-around (a state zero
    point of 100 turns a saturated -128 into -28)."""
    rng = np.random.default_rng(905)
    case = build_svdf(rng, "int8_s8", batches=1, input_size=6, rank=1, units=4, memory=3)
    m = schema.ModelT.InitFromPackedBuf(bytearray(case.model), 0)
    t = m.subgraphs[0].tensors
    t[4].quantization.zeroPoint = [100]
    # A feature factor of 50: nearly every projection saturates.
    t[0].quantization.scale = [50 * t[4].quantization.scale[0] / t[1].quantization.scale[0]]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    case.model = bytes(builder.Output())
    check_sequence(case, rng, steps=6)


def test_lstm_negative_cell_clip_means_no_clip() -> None:
    """TFLM accepts a negative (or NaN) cell clip and clips only when it is
    > 0; int8 and float32."""
    rng = np.random.default_rng(913)
    for kind in ("int8", "float32"):
        for clip in (-1.0, float("nan"), 0.0):
            spec = LstmSpec(kind=kind, batches=2, steps=3, input_size=5, state_size=6, clip=clip)
            check_sequence(build_lstm(rng, spec), rng, steps=3)


def test_variable_tensor_initial_data_is_ignored_like_tflm() -> None:
    """A variable tensor with buffer contents: TFLM allocates it in the arena
    and fills it with zeros / the int8 zero point, never reading the buffer;
    the engine loads such models and does the same."""
    rng = np.random.default_rng(906)
    for kind, dt in (("int8_s8", np.int8), ("int8_s16", np.int16), ("float32", np.float32)):
        case = build_svdf(rng, kind, batches=2, input_size=3, rank=2, units=2, memory=3)
        m = schema.ModelT.InitFromPackedBuf(bytearray(case.model), 0)
        buf = schema.BufferT()
        buf.data = list((np.arange(24) % 7 + 1).astype(dt).tobytes())
        m.buffers.append(buf)
        m.subgraphs[0].tensors[4].buffer = len(m.buffers) - 1
        builder = flatbuffers.Builder(1024)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        case.model = bytes(builder.Output())
        check_sequence(case, rng, steps=3)


# -- the real recurrent models -------------------------------------------------------

REAL = {
    # name: extra graph outputs (intermediate tensors) to compare as well
    "dtln_noise_suppression_int8.tflite": [34, 43],
    "mnist_lstm_int8.tflite": [23, 25],
    "keyword_scrambled_8bit.tflite": [0, 5, 8, 13, 16, 21, 24, 29, 32, 37, 42, 47, 50],
}


def with_outputs(model: bytes, extra: list[int]) -> bytes:
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    g = m.subgraphs[0]
    g.outputs = [*list(g.outputs), *extra]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tflm_arena(models_dir: Path, name: str) -> int:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["file"] == name)
    return int(entry["host_tflm"]["arena_used_bytes_host_x86_64"])


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_recurrent_model_sequences(models_dir: Path, name: str) -> None:
    """20 seeded inputs in a row (state carried over), every step bit-exact
    for the model output and the recurrent layers' outputs; then the model
    must fit in no more arena than TFLM's host figure."""
    data = (models_dir / name).read_bytes()
    probe = with_outputs(data, REAL[name])
    rng = np.random.default_rng(907)
    tflm = oracle(probe)
    with HostEngine(probe, ENGINE_ARENA) as engine:
        spec = engine.inputs[0]
        info = np.iinfo(spec.dtype)
        changed = 0
        previous = None
        for step in range(20):
            x = rng.integers(info.min, info.max + 1, spec.shape).astype(spec.dtype)
            tflm.set_input(x, 0)
            tflm.invoke()
            engine.set_input(0, x)
            engine.invoke()
            outs = []
            for k in range(len(engine.outputs)):
                e, a = tflm.get_output(k), engine.get_output(k)
                assert same_bits(e, a), (
                    f"{name} step {step} output {k}: {int(np.sum(e != a))} differ"
                )
                outs.append(e.tobytes())
            changed += previous is not None and outs != previous
            previous = outs
    assert changed > 0
    with HostEngine(data, ENGINE_ARENA) as engine:
        used, limit = engine.arena_used, tflm_arena(models_dir, name)
    print(f"\n{name}: 20 steps bit-exact; arena used {used} B (TFLM host {limit} B)")
    assert used <= limit


def test_dtln_state_carries_over_and_resets(models_dir: Path) -> None:
    """The same frame twice gives different outputs (LSTM state); after
    reset_variables the first output comes back, as after TFLM's reset()."""
    data = (models_dir / "dtln_noise_suppression_int8.tflite").read_bytes()
    x = np.random.default_rng(908).integers(-128, 128, (1, 1, 257)).astype(np.int8)
    tflm = oracle(data)
    with HostEngine(data, ENGINE_ARENA) as engine:
        first, second = run(engine, [x, x], True)
        assert not same_bits(first, second)
        engine.reset_variables()
        tflm.reset()
        again = run(engine, [x], True)[0]
        assert same_bits(first, again)
    assert same_bits(run(oracle(data), [x], False)[0], first)


# -- refusals ------------------------------------------------------------------------


def edit(model: bytes, fn) -> bytes:
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    fn(m)
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def refusal(model: bytes) -> EngineError:
    try:
        HostEngine(model, ENGINE_ARENA).close()
    except EngineError as exc:
        return exc
    raise AssertionError("the engine accepted the model")


def oracle_refuses(model: bytes) -> bool:
    """TFLM fails to prepare the model (skipped under ASan, where TFLM's C++
    exception cannot propagate: reported as a refusal)."""
    if os.environ.get("HIL_SANITIZE") == "1":
        return True
    try:
        oracle(model)
    except Exception:
        return True
    return False


LSTM_PREFIX = "UNIDIRECTIONAL_SEQUENCE_LSTM (op index 0): "


def test_lstm_variants_are_refused_by_name() -> None:
    rng = np.random.default_rng(909)
    i8, i16 = np.int8, np.int16
    cases = [
        (dict(extra={16: ("weights", i8)}), "projection is not supported"),
        (dict(extra={17: ("vector", np.int32)}), "projection is not supported"),
        (dict(extra={9: ("vector", i16), 10: ("vector", i16), 11: ("vector", i16)}),
         "peephole connections are not supported"),
        (dict(extra={k: ("vector", i16) for k in range(20, 24)}),
         "layer normalization is not supported"),
        (dict(drop=(1, 5, 12)), "CIFG (coupled input and forget gate) is not supported"),
        (dict(kind="float32", extra={16: ("weights", np.float32)}), "projection is not supported"),
    ]  # fmt: skip
    for kw, message in cases:
        model = build_lstm(rng, LstmSpec(**kw)).model
        err = refusal(model)
        assert (err.status, err.message) == (Status.UNSUPPORTED, LSTM_PREFIX + message)
        assert oracle_refuses(model), message


def test_lstm_other_refusals() -> None:
    rng = np.random.default_rng(910)
    relu = build_lstm(rng, LstmSpec(act=1)).model
    err = refusal(relu)
    assert err.message == LSTM_PREFIX + "cell gate activation RELU is not supported (TANH only)"
    per_channel = build_lstm(rng, LstmSpec(per_channel=True)).model
    err = refusal(per_channel)
    assert err.message == LSTM_PREFIX + "per-channel weights (input 2) are not supported"

    def to_int16(m) -> None:  # x, h, y become int16 (TFLM's 16x8 variant)
        for t in (0, 13, 15):
            m.subgraphs[0].tensors[t].type = schema.TensorType.INT16

    err = refusal(edit(build_lstm(rng, LstmSpec()).model, to_int16))
    assert (err.status, err.message) == (
        Status.UNSUPPORTED,
        LSTM_PREFIX + "int16 activations are not supported",
    )

    def old_format(m) -> None:  # 20 inputs, as pre-2020 converters wrote
        m.subgraphs[0].operators[0].inputs = list(m.subgraphs[0].operators[0].inputs)[:20]

    err = refusal(edit(build_lstm(rng, LstmSpec()).model, old_format))
    assert err.message == LSTM_PREFIX + "expects 24 inputs and 1 output, has 20 and 1"

    def not_variable(m) -> None:
        m.subgraphs[0].tensors[14].isVariable = False

    err = refusal(edit(build_lstm(rng, LstmSpec()).model, not_variable))
    assert err.message == LSTM_PREFIX + "hidden and cell states must be variables"
    cell8 = edit(
        build_lstm(rng, LstmSpec()).model,
        lambda m: setattr(m.subgraphs[0].tensors[14], "type", schema.TensorType.INT8),
    )
    assert refusal(cell8).message == (
        LSTM_PREFIX + "int8 input with int8 cell state is not supported"
    )  # fmt: skip


SVDF_PREFIX = "SVDF (op index 0): "


def test_svdf_refusals() -> None:
    rng = np.random.default_rng(911)
    base = build_svdf(rng, "int8_s16", batches=1, input_size=4, rank=2, units=3, memory=4).model
    fbase = build_svdf(rng, "float32", batches=1, input_size=4, rank=2, units=3, memory=4).model

    def no_bias(m) -> None:
        ins = list(m.subgraphs[0].operators[0].inputs)
        ins[3] = -1
        m.subgraphs[0].operators[0].inputs = ins

    for model in (base, fbase):
        err = refusal(edit(model, no_bias))  # TFLM itself crashes on these
        assert (err.status, err.message) == (
            Status.UNSUPPORTED,
            SVDF_PREFIX + "a missing bias is not supported",
        )

    def rank0(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.rank = 0

    err = refusal(edit(base, rank0))
    assert (err.status, err.message) == (
        Status.MODEL_INVALID,
        SVDF_PREFIX + "rank 0 must be positive",
    )

    def rank4(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.rank = 4

    err = refusal(edit(base, rank4))
    assert err.message == SVDF_PREFIX + "6 filters are not a multiple of rank 4"
    assert oracle_refuses(edit(base, rank4))

    def state8(m) -> None:
        m.subgraphs[0].tensors[4].type = schema.TensorType.INT8

    err = refusal(edit(base, state8))
    assert err.message == (
        SVDF_PREFIX + "int16 weights_time with int8 state is not supported (int16 or int8 pairs)"
    )

    def input16(m) -> None:
        m.subgraphs[0].tensors[0].type = schema.TensorType.INT16

    assert refusal(edit(base, input16)).message == SVDF_PREFIX + "int16 input is not supported"

    def plain_state(m) -> None:
        m.subgraphs[0].tensors[4].isVariable = False

    err = refusal(edit(base, plain_state))
    assert err.message == SVDF_PREFIX + "activation state is not a variable tensor"
    assert oracle_refuses(edit(base, plain_state))

    def wrong_state(m) -> None:
        m.subgraphs[0].tensors[4].shape = [1, 23]

    err = refusal(edit(base, wrong_state))
    assert err.message == SVDF_PREFIX + "state dimension 1 is 23, expected 4 x 6"
    assert oracle_refuses(edit(base, wrong_state))

    def bad_bias_scale(m) -> None:
        m.subgraphs[0].tensors[3].quantization.scale = [1.0]

    err = refusal(edit(base, bad_bias_scale))
    assert err.status == Status.MODEL_INVALID
    assert oracle_refuses(edit(base, bad_bias_scale))


# -- hostile models under AddressSanitizer --------------------------------------------

HOSTILE_SCRIPT = r"""
import collections, json, sys
import numpy as np
from hil.devtools.engine_host import EngineError, HostEngine, load_library
from tests.unit.test_kernels_recurrent import hostile_models

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
    for step in range(2):
        for i, spec in enumerate(engine.inputs):
            fill = np.full(spec.shape, 0x55 + step, np.uint8)
            engine.set_input(i, fill.view(spec.dtype) if spec.dtype.itemsize == 1
                             else np.ones(spec.shape, spec.dtype))
        engine.invoke()
        for i in range(len(engine.outputs)):
            engine.get_output(i)
    engine.reset_variables()
print(json.dumps(stats))
"""


def mutate_recurrent(model: bytes, rng: np.random.Generator) -> bytes:
    """One structured edit (test_kernels_activation.mutate: quantization,
    dimension, type, option or input list extremes), or a variable flag
    flipped, or an optional LSTM/SVDF input pointed at another tensor."""
    from tests.unit.test_kernels_activation import mutate

    r = rng.random()
    if r < 0.7:
        return mutate(model, rng)

    def flip(m) -> None:
        g = m.subgraphs[0]
        if r < 0.85:
            t = g.tensors[int(rng.integers(len(g.tensors)))]
            t.isVariable = not t.isVariable
        else:
            op = g.operators[0]
            ins = list(op.inputs)
            ins[int(rng.integers(len(ins)))] = int(rng.integers(-1, len(g.tensors)))
            op.inputs = ins

    return edit(model, flip)


def hostile_models(per_case: int):
    rng = np.random.default_rng(912)
    valid = [svdf_case(rng, i) for i in range(6)]
    valid += [lstm_case(rng, i) for i in range(8)]
    for case in valid:
        yield case.model
        for _ in range(per_case):
            try:
                edited = mutate_recurrent(case.model, rng)
            except (OverflowError, ValueError, TypeError):
                continue
            yield edited
            flipped = bytearray(edited)
            for _ in range(int(rng.integers(1, 4))):
                flipped[int(rng.integers(len(flipped)))] = int(rng.integers(256))
            yield bytes(flipped)


def test_hostile_recurrent_models_never_crash() -> None:
    try:
        build_library(sanitize=True)
        env = asan_env()
    except ToolMissingError as exc:
        pytest.fail(f"no sanitizer toolchain (tools/setup.sh installs it): {exc}", pytrace=False)
    repo = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_SCRIPT, "150"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"engine crashed or UB:\n{result.stderr[-4000:]}"
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\nhostile recurrent models: {stats}")
    refused = {int(k): v for k, v in stats.items() if k.isdigit()}
    assert stats.get("loaded", 0) > 500
    assert sum(refused.values()) > 1000
    assert set(refused) <= {Status.MODEL_INVALID, Status.UNSUPPORTED, Status.ARENA_TOO_SMALL}
    assert "empty message" not in stats

"""hil's own engine (firmware/engine + firmware/kernels), compiled for the host,
checked against TFLM's host interpreter, the bit-exact oracle."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.devtools.engine_host import (
    EngineError,
    HostEngine,
    asan_env,
    build_library,
    multiply_by_quantized_multiplier,
)
from hil.devtools.engine_host import quantize_multiplier as engine_quantize_multiplier
from hil.errors import Status, ToolMissingError

REPO = Path(__file__).resolve().parents[2]
ARENA = 16 * 1024
TFLM_HELLO_INT8_ARENA_USED = 1504  # MANIFEST.md, TFLM host "arena used"
OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


# -- helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def hello_int8(models_dir: Path) -> bytes:
    return (models_dir / "hello_world_int8.tflite").read_bytes()


@pytest.fixture(scope="module")
def hello_float(models_dir: Path) -> bytes:
    return (models_dir / "hello_world_float.tflite").read_bytes()


def pack(model: schema.ModelT) -> bytes:
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def mutate(data: bytes, edit: Callable[[schema.ModelT], None]) -> bytes:
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    edit(model)
    return pack(model)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes: -0.0 != 0.0 and NaN == NaN, as bits."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def run_both(data: bytes, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outputs of TFLM and of hil's engine for each input (one-input models)."""
    tflm = runtime.Interpreter.from_bytes(data)
    engine = HostEngine(data, ARENA)
    expected, actual = [], []
    for x in inputs:
        tflm.set_input(x, 0)
        tflm.invoke()
        expected.append(tflm.get_output(0).copy())
        engine.set_input(0, x)
        engine.invoke()
        actual.append(engine.get_output(0))
    engine.close()
    return expected, actual


def mismatches(data: bytes, inputs: list[np.ndarray]) -> list[int]:
    expected, actual = run_both(data, inputs)
    return [i for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if not same_bits(e, a)]


def load_error(data: bytes, arena: int = ARENA) -> EngineError:
    with pytest.raises(EngineError) as info:
        HostEngine(data, arena)
    return info.value


# -- (1) the two real models, bit-exact ------------------------------------------


def test_hello_world_int8_bit_exact(hello_int8: bytes) -> None:
    rng = np.random.default_rng(20240501)
    values = np.concatenate([[-128, 127, 0], rng.integers(-128, 128, 197)]).astype(np.int8)
    inputs = [np.full((1, 1), v, np.int8) for v in values]
    expected, actual = run_both(hello_int8, inputs)
    assert len(actual) == 200
    assert len({int(e[0, 0]) for e in expected}) > 20  # the outputs really vary
    bad = [
        (int(x[0, 0]), e, a)
        for x, e, a in zip(inputs, expected, actual, strict=True)
        if not np.array_equal(e, a)
    ]
    assert not bad, f"{len(bad)} of 200 differ from TFLM, e.g. {bad[:3]}"


def test_hello_world_float_bit_exact(hello_float: bytes) -> None:
    rng = np.random.default_rng(20240502)
    inputs = [rng.uniform(0.0, 2 * np.pi, (1, 1)).astype(np.float32) for _ in range(200)]
    expected, actual = run_both(hello_float, inputs)
    bad = [i for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if not same_bits(e, a)]
    assert not bad, f"{len(bad)} of 200 differ from TFLM (bitwise), first at {inputs[bad[0]]}"
    # sanity: this is sin(x)
    assert abs(float(actual[0][0, 0]) - np.sin(float(inputs[0][0, 0]))) < 0.2


def test_outputs_on_zero_input_match_manifest(hello_int8: bytes, hello_float: bytes) -> None:
    with HostEngine(hello_int8, ARENA) as e:
        e.set_input(0, np.zeros((1, 1), np.int8))
        e.invoke()
        assert e.get_output(0).tolist() == [[4]]
    with HostEngine(hello_float, ARENA) as e:
        e.set_input(0, np.zeros((1, 1), np.float32))
        e.invoke()
        assert e.get_output(0)[0, 0] == np.float32(0.02640528976917267)


# -- variants of hello_world: every FULLY_CONNECTED feature against TFLM ---------


def random_int8_variant(base: bytes, rng: np.random.Generator) -> tuple[bytes, int]:
    """hello_world_int8 with random weights, biases, scales, zero points,
    activations, per-channel filters, optional bias and a batch of 1-4."""

    batch = int(rng.integers(1, 5))

    def edit(m: schema.ModelT) -> None:
        t = m.subgraphs[0].tensors
        for i, shape in ((0, [batch, 1]), (7, [batch, 16]), (8, [batch, 16]), (9, [batch, 1])):
            t[i].shape = shape
            t[i].quantization.scale = [float(np.float32(10 ** rng.uniform(-3, 0)))]
            t[i].quantization.zeroPoint = [int(rng.integers(-128, 128))]
        for op in m.subgraphs[0].operators:
            x, w, b = (int(v) for v in op.inputs)
            depth = int(t[w].shape[0])
            weights = rng.integers(-128, 128, int(np.prod(t[w].shape)), dtype=np.int8)
            m.buffers[t[w].buffer].data = weights.view(np.uint8)
            q = t[w].quantization
            if depth > 1 and rng.random() < 0.5:  # per-channel
                q.scale = [float(s) for s in (10 ** rng.uniform(-4, -1, depth)).astype(np.float32)]
                q.zeroPoint, q.quantizedDimension = [0] * depth, 0
            else:
                q.scale = [float(np.float32(10 ** rng.uniform(-4, -1)))]
                q.zeroPoint = [0 if rng.random() < 0.7 else int(rng.integers(-10, 10))]
            in_scale = np.float32(t[x].quantization.scale[0])
            t[b].quantization.scale = [float(in_scale * np.float32(q.scale[0]))]
            magnitude = int(10 ** rng.uniform(1, 9))
            bias = rng.integers(-magnitude, magnitude, depth).astype("<i4")
            m.buffers[t[b].buffer].data = bias.view(np.uint8)
            if rng.random() < 0.25:
                op.inputs = [x, w, -1]
            op.builtinOptions.fusedActivationFunction = int(rng.integers(0, 4))
            op.builtinOptions.keepNumDims = bool(rng.random() < 0.3)

    return mutate(base, edit), batch


def random_float_variant(base: bytes, rng: np.random.Generator) -> tuple[bytes, int]:
    batch = int(rng.integers(1, 5))

    def edit(m: schema.ModelT) -> None:
        t = m.subgraphs[0].tensors
        for i, shape in ((0, [batch, 1]), (7, [batch, 16]), (8, [batch, 16]), (9, [batch, 1])):
            t[i].shape = shape
        for op in m.subgraphs[0].operators:
            x, w, b = (int(v) for v in op.inputs)
            for k in (w, b):
                n = int(np.prod(t[k].shape))
                values = rng.standard_normal(n) * rng.uniform(0.1, 10)
                m.buffers[t[k].buffer].data = values.astype("<f4").view(np.uint8)
            if rng.random() < 0.25:
                op.inputs = [x, w, -1]
            op.builtinOptions.fusedActivationFunction = int(rng.integers(0, 4))

    return mutate(base, edit), batch


def test_random_int8_variants_bit_exact(hello_int8: bytes) -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for case in range(60):
        data, batch = random_int8_variant(hello_int8, rng)
        inputs = [rng.integers(-128, 128, (batch, 1), dtype=np.int8) for _ in range(20)]
        bad = mismatches(data, inputs)
        assert not bad, f"variant {case}: {len(bad)} of 20 inputs differ from TFLM"
        checked += len(inputs)
    assert checked == 1200


def test_random_float_variants_bit_exact(hello_float: bytes) -> None:
    rng = np.random.default_rng(8)
    for case in range(40):
        data, batch = random_float_variant(hello_float, rng)
        inputs = [
            (rng.standard_normal((batch, 1)) * rng.uniform(0.1, 100)).astype(np.float32)
            for _ in range(19)
        ]
        inputs.append(np.full((batch, 1), -0.0, np.float32))  # zeros through the clamps
        bad = mismatches(data, inputs)
        assert not bad, f"variant {case}: {len(bad)} of 20 inputs differ bitwise from TFLM"


def test_per_channel_scales_are_used(hello_int8: bytes) -> None:
    """Per-channel filter scales change the result (so the test below can
    fail), and hil follows TFLM in both forms."""
    factors = np.linspace(0.25, 1.75, 16).astype(np.float32)

    def per_channel(m: schema.ModelT) -> None:
        q = m.subgraphs[0].tensors[4].quantization  # dense_1 weights [16, 16]
        q.scale = [float(np.float32(q.scale[0]) * f) for f in factors]
        q.zeroPoint, q.quantizedDimension = [0] * 16, 0

    pc = mutate(hello_int8, per_channel)
    inputs = [np.full((1, 1), v, np.int8) for v in range(-128, 128)]
    expected_pc, actual_pc = run_both(pc, inputs)
    expected_pt, _ = run_both(hello_int8, inputs)
    assert any(not np.array_equal(a, b) for a, b in zip(expected_pc, expected_pt, strict=True))
    assert all(np.array_equal(e, a) for e, a in zip(expected_pc, actual_pc, strict=True))


# -- the effective-scale rule ---------------------------------------------------------


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier, for the test's own predictions."""
    if m == 0.0:
        return 0, 0
    significand, shift = math.frexp(m)
    fixed = math.floor(significand * 2**31 + 0.5)  # round half away (m > 0)
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    return (0, 0) if shift < -31 else (fixed, shift)


def requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for acc >= 0 and shift <= 0 (int64 math)."""
    high = (acc * multiplier + (1 << 30)) >> 31
    mask = (1 << -shift) - 1
    return (high >> -shift) + ((high & mask) > (mask >> 1))


def discriminating_scale(
    rng: np.random.Generator, in_scale: np.float32, out_scale: np.float32
) -> tuple[np.float32, np.ndarray, np.ndarray, np.ndarray]:
    """A filter scale, and accumulators for which the two candidate rules give
    different int8 outputs: (scale, accs, by_double_product, by_float_product)."""
    for _ in range(2000):
        f = np.float32(10 ** rng.uniform(-3, -2))
        by_float = float(np.float32(in_scale * f)) / float(out_scale)
        by_double = float(in_scale) * float(f) / float(out_scale)
        (m1, s1), (m2, s2) = quantize_multiplier(by_double), quantize_multiplier(by_float)
        if (m1, s1) == (m2, s2) or s1 != s2:
            continue
        acc = np.arange(1, int(120 / by_double), dtype=np.int64)
        r_double, r_float = requantize(acc, m1, s1), requantize(acc, m2, s2)
        hits = np.nonzero(r_double != r_float)[0]
        if len(hits):
            return f, acc[hits], r_double[hits], r_float[hits]
    raise AssertionError("no discriminating scale found")


def ref_multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """gemmlowp/TFLM MultiplyByQuantizedMultiplier on Python ints, written from
    the published algorithm: x * 2^left wraps to int32, then
    SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT."""
    left, right = max(shift, 0), max(-shift, 0)
    a = (x * (1 << left) + 2**31) % 2**32 - 2**31
    if a == multiplier == -(2**31):
        high = 2**31 - 1
    else:
        ab = a * multiplier
        v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
        high = abs(v) >> 31 if v >= 0 else -(abs(v) >> 31)  # C division truncates
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if (high & mask) > threshold else 0)


@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (0.0, (0, 0)),
        (0.5, (2**30, 0)),
        (1.0, (2**30, 1)),
        ((2**30 + 2**7 + 0.5) / 2**31, (2**30 + 2**7 + 1, 0)),  # tie: away from zero
        (1.0 - 2.0**-40, (2**30, 1)),  # rounds up to 2^31: renormalised
        (2.0**-32, (2**30, -31)),  # smallest kept
        (2.0**-33, (0, 0)),  # shift -32 < -31 flushes to zero
        (2.0**-40, (0, 0)),
        (1e-3, quantize_multiplier(1e-3)),
    ],
)
def test_quantize_multiplier(m: float, expected: tuple[int, int]) -> None:
    assert engine_quantize_multiplier(m) == expected


def test_multiply_by_quantized_multiplier_matches_reference() -> None:
    rng = np.random.default_rng(3)
    cases = [(-(2**31), -(2**31), 0), (-3, 2**30, 0), (3, 2**30, 0), (-6, 2**30, -1)]
    cases += [(2**31 - 1, 2**31 - 1, 30), (-(2**31), 2**30, -31), (12345, 2**31 - 1, 3)]
    for _ in range(20000):
        x = int(rng.integers(-(2**31), 2**31))
        if rng.random() < 0.5:
            x >>= int(rng.integers(0, 31))  # small magnitudes too
        cases.append((x, int(rng.integers(2**30, 2**31)), int(rng.integers(-31, 31))))
    bad = [
        c
        for c in cases
        if multiply_by_quantized_multiplier(*c) != ref_multiply_by_quantized_multiplier(*c)
    ]
    assert not bad, f"{len(bad)} differ, e.g. {bad[:3]}"
    assert multiply_by_quantized_multiplier(-(2**31), -(2**31), 0) == 2**31 - 1  # saturates


@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_effective_scale_rule(hello_int8: bytes, per_channel: bool) -> None:
    """Which effective scale does TFLM's int8 FULLY_CONNECTED use: the float
    product (double)(in*filter)/out, or double*double/out? Scales and biases
    are picked so the two rules give different outputs (zero weights make
    acc = bias); TFLM (this version) and hil both follow the double rule."""
    rng = np.random.default_rng(11 if per_channel else 12)
    in_scale, out_scale = np.float32(0.05), np.float32(0.9)
    if per_channel:
        found = [discriminating_scale(rng, in_scale, out_scale) for _ in range(16)]
        scales = [f for f, *_ in found]
        picks = [(int(a[0]), int(d[0]), int(x[0])) for _, a, d, x in found]
    else:
        f, accs, by_double, by_float = discriminating_scale(rng, in_scale, out_scale)
        scales = [f]
        picks = [
            (int(accs[i % len(accs)]), int(by_double[i % len(accs)]), int(by_float[i % len(accs)]))
            for i in range(16)
        ]

    def edit(m: schema.ModelT) -> None:
        t = m.subgraphs[0].tensors
        t[7].quantization.scale = [float(in_scale)]
        t[8].quantization.scale, t[8].quantization.zeroPoint = [float(out_scale)], [0]
        q = t[4].quantization  # op 1 weights [16, 16]: all zero
        m.buffers[t[4].buffer].data = np.zeros(256, np.uint8)
        q.scale = [float(v) for v in scales]
        q.zeroPoint, q.quantizedDimension = [0] * len(scales), 0
        t[3].quantization.scale = [float(np.float32(in_scale * scales[0]))]
        m.buffers[t[3].buffer].data = np.array([p[0] for p in picks], "<i4").view(np.uint8)
        m.subgraphs[0].operators[1].builtinOptions.fusedActivationFunction = 0
        m.subgraphs[0].outputs = [8]
        # op 2 reads tensor 8: keep its bias scale consistent (TFLM checks it)
        t[1].quantization.scale = [float(out_scale * np.float32(t[2].quantization.scale[0]))]

    data = mutate(hello_int8, edit)
    expected, actual = run_both(data, [np.zeros((1, 1), np.int8)])
    by_double = [p[1] for p in picks]
    by_float = [p[2] for p in picks]
    assert all(d != f for d, f in zip(by_double, by_float, strict=True))
    assert expected[0].ravel().tolist() == by_double  # the oracle's rule
    assert np.array_equal(actual[0], expected[0])


def test_variable_tensor_gets_its_own_memory(hello_int8: bytes) -> None:
    def variable(m: schema.ModelT) -> None:
        m.subgraphs[0].tensors[7].isVariable = True  # written by op 0, read by op 1

    data = mutate(hello_int8, variable)
    inputs = [np.full((1, 1), v, np.int8) for v in range(-128, 128, 7)]
    assert not mismatches(data, inputs)
    with HostEngine(hello_int8, ARENA) as plain, HostEngine(data, ARENA) as var:
        assert var.arena_used >= plain.arena_used + 16


# -- (2) unsupported operators ---------------------------------------------------


def test_micro_speech_refused_then_hello_world_runs(models_dir: Path, hello_int8: bytes) -> None:
    """micro_speech's operator 0 uses opcode index 2 (its operator_codes table
    lists DEPTHWISE_CONV_2D first). That entry, RESHAPE, is now supported, so
    it is recoded to LSH_PROJECTION, an operator hil does not have."""

    def recode(m: schema.ModelT) -> None:
        m.operatorCodes[2].builtinCode = m.operatorCodes[2].deprecatedBuiltinCode = 15

    engine = HostEngine(arena_bytes=ARENA)
    with pytest.raises(EngineError) as info:
        engine.load(mutate((models_dir / "micro_speech_int8.tflite").read_bytes(), recode))
    assert info.value.status == Status.UNSUPPORTED
    assert info.value.message == "unsupported operator LSH_PROJECTION (op index 0)"
    assert not engine.loaded and engine.inputs == () and engine.arena_used == 0
    engine.load(hello_int8)
    x = np.full((1, 1), 37, np.int8)
    expected, _ = run_both(hello_int8, [x])
    engine.set_input(0, x)
    engine.invoke()
    assert np.array_equal(engine.get_output(0), expected[0])
    engine.close()


@pytest.mark.parametrize(
    ("deprecated", "builtin", "expected"),
    [
        (4, 4, "DEPTHWISE_CONV_2D"),
        (4, 0, "DEPTHWISE_CONV_2D"),  # old files: only the deprecated byte is set
        (127, 150, OP_NAMES[150]),  # codes above 127: only builtin_code
        (9, 0, None),  # FULLY_CONNECTED via the deprecated byte: loads
    ],
)
def test_operator_code_rule(hello_int8: bytes, deprecated: int, builtin: int, expected: str | None):
    def recode(m: schema.ModelT) -> None:
        m.operatorCodes[0].deprecatedBuiltinCode = deprecated
        m.operatorCodes[0].builtinCode = builtin

    data = mutate(hello_int8, recode)
    if expected is None:
        HostEngine(data, ARENA).close()
        return
    err = load_error(data)
    # Either the engine lacks the operator, or its kernel refuses this
    # FULLY_CONNECTED-shaped op (DEPTHWISE_CONV_2D now has one): both name it.
    if not err.message.startswith(f"{expected} (op index 0): "):
        assert err.status == Status.UNSUPPORTED
        assert err.message == f"unsupported operator {expected} (op index 0)"


# -- refusals with specific messages ----------------------------------------------


def _set_type(index: int, tensor_type: int) -> Callable[[schema.ModelT], None]:
    def edit(m: schema.ModelT) -> None:
        m.subgraphs[0].tensors[index].type = tensor_type

    return edit


def _options(**fields: object) -> Callable[[schema.ModelT], None]:
    def edit(m: schema.ModelT) -> None:
        for name, value in fields.items():
            setattr(m.subgraphs[0].operators[0].builtinOptions, name, value)

    return edit


def _two_subgraphs(m: schema.ModelT) -> None:
    m.subgraphs.append(m.subgraphs[0])


def _sparse_weights(m: schema.ModelT) -> None:
    m.subgraphs[0].tensors[6].sparsity = schema.SparsityParametersT()


def _version(m: schema.ModelT) -> None:
    m.version = 2


def _int16(m: schema.ModelT) -> None:
    _set_type(0, schema.TensorType.INT16)(m)
    _set_type(7, schema.TensorType.INT16)(m)


@pytest.mark.parametrize(
    ("edit", "status", "message"),
    [
        (
            _int16,
            Status.UNSUPPORTED,
            "FULLY_CONNECTED (op index 0): int16 activations are not supported",
        ),
        (
            _options(weightsFormat=1),
            Status.UNSUPPORTED,
            "FULLY_CONNECTED (op index 0): shuffled weights (format 1) are not supported",
        ),
        (
            _options(fusedActivationFunction=4),
            Status.UNSUPPORTED,
            "FULLY_CONNECTED (op index 0): fused activation TANH is not supported",
        ),
        (
            _set_type(6, schema.TensorType.UINT8),
            Status.UNSUPPORTED,
            "FULLY_CONNECTED (op index 0): int8 input with filter type 3 is not supported "
            "(hybrid or packed)",
        ),
        (
            _sparse_weights,
            Status.UNSUPPORTED,
            "tensor 6 is sparse; sparse tensors are not supported",
        ),
        (
            _two_subgraphs,
            Status.UNSUPPORTED,
            "model has 2 subgraphs; only single-subgraph models are supported",
        ),
        (_version, Status.UNSUPPORTED, "model schema version 2, expected 3"),
    ],
)
def test_refusals(
    hello_int8: bytes, edit: Callable[[schema.ModelT], None], status: int, message: str
) -> None:
    err = load_error(mutate(hello_int8, edit))
    assert (err.status, err.message) == (status, message)


def test_buffer_offset_fields_and_alignment(hello_int8: bytes) -> None:
    """The offset/size buffer form (>2 GB models): honoured when aligned and
    in bounds, refused (naming the buffer) when misaligned or out of bounds."""
    bias_tensor, bias_buffer = 5, 6  # dense bias, int32[16]

    def external(offset: int) -> bytes:
        def edit(m: schema.ModelT) -> None:
            buf = m.buffers[bias_buffer]
            buf.offset, buf.size, buf.data = offset, 64, None

        return mutate(hello_int8, edit)

    bias = schema.ModelT.InitFromPackedBuf(bytearray(hello_int8), 0).buffers[bias_buffer].data
    bias_bytes = bytes(np.asarray(bias, np.uint8))
    end = len(external(1 << 40))  # the offset's value does not change the layout
    start = end + (-end % 16)
    aligned = external(start) + bytes(start - end) + bias_bytes
    assert len(aligned) == start + 64
    # TFLM ignores offset/size buffers (it would read the bias as an
    # uninitialised arena tensor), so the oracle is TFLM on the original model.
    x = [np.full((1, 1), v, np.int8) for v in (-100, 0, 100)]
    expected, _ = run_both(hello_int8, x)
    with HostEngine(aligned, ARENA) as engine:
        for xi, ei in zip(x, expected, strict=True):
            engine.set_input(0, xi)
            engine.invoke()
            assert np.array_equal(engine.get_output(0), ei)

    misaligned = external(start + 2) + bytes(start + 2 - end) + bias_bytes
    err = load_error(misaligned)
    assert err.status == Status.MODEL_INVALID
    assert err.message == (
        f"buffer {bias_buffer} (tensor {bias_tensor}) data at model offset {start + 2} "
        "is not 4-byte aligned"
    )
    err = load_error(external(start))  # the 64 bytes are missing
    assert err.status == Status.MODEL_INVALID
    assert "offset/size lie outside" in err.message


def test_host_api_checks(hello_int8: bytes) -> None:
    engine = HostEngine(arena_bytes=ARENA)
    with pytest.raises(EngineError) as info:
        engine.invoke()
    assert info.value.status == Status.STATE
    engine.load(hello_int8)
    with pytest.raises(EngineError) as info:
        engine.set_input(0, np.zeros((1, 1), np.float32))
    assert info.value.status == Status.TENSOR and "int8" in info.value.message
    with pytest.raises(EngineError) as info:
        engine.set_input(0, np.zeros((2, 1), np.int8))
    assert info.value.status == Status.TENSOR and "(1, 1)" in info.value.message
    with pytest.raises(EngineError) as info:
        engine.get_output(1)
    assert info.value.status == Status.BAD_REQUEST
    spec = engine.inputs[0]
    assert (spec.dtype, spec.shape, spec.zero_point) == (np.dtype(np.int8), (1, 1), -128)
    assert spec.scale == pytest.approx(0.024480116)
    engine.close()


# -- (4) and (5): arena accounting -------------------------------------------------


def test_arena_too_small_message(hello_int8: bytes) -> None:
    with HostEngine(hello_int8, ARENA) as e:
        used = e.arena_used
    assert used % 16 == 0
    for arena in (used - 16, used - 1):
        err = load_error(hello_int8, arena)
        assert err.status == Status.ARENA_TOO_SMALL
        have = arena & ~15
        assert err.message == f"arena too small: need {used} bytes, have {have}"
    with HostEngine(hello_int8, used) as e:  # exactly enough
        assert e.arena_used == used
    # Far too small: the format holds, and the number given is enough.
    err = load_error(hello_int8, 64)
    match = re.fullmatch(r"arena too small: need (\d+) bytes, have 64", err.message)
    assert match, err.message
    need = int(match.group(1))
    assert need >= used
    HostEngine(hello_int8, need).close()


def test_arena_used_below_tflm(hello_int8: bytes, hello_float: bytes) -> None:
    with HostEngine(hello_int8, ARENA) as e_int8, HostEngine(hello_float, ARENA) as e_float:
        used_int8, used_float = e_int8.arena_used, e_float.arena_used
    print(
        f"\narena used: hello_world int8 {used_int8} B, float {used_float} B "
        f"(TFLM host: 1504 / 1536)"
    )
    # Activations alone: two live [1,16] tensors of 16 (int8) or 64 (float) bytes.
    assert 32 < used_int8 < TFLM_HELLO_INT8_ARENA_USED
    assert used_float >= used_int8 + 96


# -- (3) hostile models under ASan + UBSan -----------------------------------------

HOSTILE_SCRIPT = r"""
import collections, json, sys
import numpy as np
from hil.devtools.engine_host import EngineError, HostEngine, load_library

src = open(sys.argv[1], "rb").read()
flips = int(sys.argv[2])
lib = load_library(True)
assert hasattr(lib, "__asan_init"), "not an AddressSanitizer build"
engine = HostEngine(arena_bytes=65536, sanitize=True)
stats = collections.Counter()

def attempt(data):
    try:
        engine.load(data)
    except EngineError as exc:
        stats[str(exc.status)] += 1
        if not exc.message:
            stats["empty message"] += 1
        return
    stats["loaded"] += 1
    for i, spec in enumerate(engine.inputs):
        engine.set_input(i, np.zeros(spec.shape, spec.dtype))
    engine.invoke()
    for i in range(len(engine.outputs)):
        engine.get_output(i)

for n in range(len(src) + 1):
    attempt(src[:n])
stats["truncations"] = len(src) + 1
rng = np.random.default_rng(1234)
special = [0, 1, 0xFFFF, 0x8000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(src), len(src) - 1]
for _ in range(flips):
    b = bytearray(src)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.5:  # one random byte
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        else:  # a 32-bit word, often aligned, often an extreme value
            p = int(rng.integers(len(b) - 4))
            if rng.random() < 0.7:
                p &= ~3
            v = int(rng.choice(special)) if rng.random() < 0.5 else int(rng.integers(2**32))
            b[p:p + 4] = v.to_bytes(4, "little")
    attempt(bytes(b))
print(json.dumps(stats))
"""


def test_hostile_models_never_crash(models_dir: Path) -> None:
    try:
        build_library(sanitize=True)
        env = asan_env()
    except ToolMissingError as exc:
        pytest.fail(f"no sanitizer toolchain (tools/setup.sh installs it): {exc}", pytrace=False)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    model = models_dir / "hello_world_int8.tflite"
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_SCRIPT, str(model), "3000"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"engine crashed or UB:\n{result.stderr[-4000:]}"
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\nhostile models: {stats}")
    assert stats["truncations"] == model.stat().st_size + 1
    refused = {int(k): v for k, v in stats.items() if k.isdigit()}
    assert stats.get("loaded", 0) > 100  # flips in weights still load and run
    assert refused.get(Status.MODEL_INVALID, 0) > 1000
    assert set(refused) <= {Status.MODEL_INVALID, Status.UNSUPPORTED, Status.ARENA_TOO_SMALL}
    assert "empty message" not in stats


# -- the build cache -------------------------------------------------------------


def test_library_is_cached_by_content() -> None:
    lib = build_library(sanitize=False)
    assert lib.name == "libhilengine.so" and lib.parent.parent.name == "host"
    assert build_library(sanitize=False) == lib
    assert build_library(sanitize=True) != lib

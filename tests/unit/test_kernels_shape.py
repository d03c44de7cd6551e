"""The data-movement kernels (RESHAPE, SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD,
PADV2, STRIDED_SLICE, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR, SHAPE, PACK, UNPACK,
SPLIT, SPLIT_V) of hil's engine on the host, against TFLM's host interpreter.

Property tests: for every operator, at least 200 random single-operator models
(ranks, shapes, axes, masks, options, element types), each run on one random
input, must give bit-identical outputs. Some generated models are ones TFLM
refuses (an element type its kernel lacks, int8 CONCATENATION inputs that would
need requantizing, ...): hil must refuse those too. Seeds are fixed; a failure
prints the model's parameters.

Then: refusals with their exact messages, hostile options (error, never a
crash, also under AddressSanitizer) and arena use against TFLM's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
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
OPT = schema.BuiltinOptions
ENGINE_ARENA = 256 * 1024
ORACLE_ARENA = 1 << 20
MODELS_PER_OP = 200

F32, I8, I16, I32, U8, BOOL, I64 = (
    np.dtype(t) for t in (np.float32, np.int8, np.int16, np.int32, np.uint8, np.bool_, np.int64)
)
ALL_TYPES = (F32, I8, I16, I32, U8, BOOL, I64)
# What TFLM's kernels accept (checked against the oracle).
TYPES = {
    "RESHAPE": ALL_TYPES,
    "SQUEEZE": ALL_TYPES,
    "SHAPE": ALL_TYPES,  # input; the output is int32
    "EXPAND_DIMS": (F32, I8, I16),
    "CONCATENATION": (F32, I8, I16, I32, I64, BOOL),
    "PAD": (F32, I8, I16, I32),
    "STRIDED_SLICE": (F32, I8, I16, I32, BOOL),
    "TRANSPOSE": (F32, I8, I16),
    "RESIZE_NEAREST_NEIGHBOR": (F32, I8, I16),
    "PACK": (F32, I8, I16, I32, I64),
    "UNPACK": (F32, I8, I16, I32),
    "SPLIT": (F32, I8, I16, I32),
}
TYPES["PADV2"] = TYPES["PAD"]
TYPES["SPLIT_V"] = TYPES["SPLIT"]


# -- building and running ------------------------------------------------------


@dataclass
class Case:
    """A one-op model, its graph inputs and what generated it."""

    data: bytes
    inputs: list[np.ndarray]
    n_outputs: int
    params: dict
    refused: bool = False  # TFLM refuses it: hil must too


@dataclass
class Graph:
    """ModelBuilder plus the values of the graph inputs, in order."""

    b: ModelBuilder = field(default_factory=ModelBuilder)
    values: list[np.ndarray] = field(default_factory=list)

    def input(self, value: np.ndarray, scale: float | None = None, zero_point: int = 0) -> int:
        idx = self.b.tensor(value.shape, value.dtype, scale=scale, zero_point=zero_point)
        self.b.inputs.append(idx)
        self.values.append(value)
        return idx

    def const(self, value: np.ndarray, scale: float | None = None, zero_point: int = 0) -> int:
        return self.b.tensor(
            value.shape, value.dtype, data=value, scale=scale, zero_point=zero_point
        )

    def output(self, shape, dtype, scale: float | None = None, zero_point: int = 0) -> int:
        idx = self.b.tensor(tuple(shape), dtype, scale=scale, zero_point=zero_point)
        self.b.outputs.append(idx)
        return idx

    def case(self, code, ins, outs, opt_type=0, opts=None, refused=False, **params) -> Case:
        self.b.operator(code, ins, outs, opt_type, opts)
        return Case(aligned_build(self.b), self.values, len(outs), params, refused)


def aligned_build(b: ModelBuilder) -> bytes:
    """b.build(), with 8-byte constants (int64) 8-byte aligned as real
    converters align them (TFLite pads buffers to 16): ModelBuilder only
    guarantees 4, so an unused 4-byte buffer is added until they are."""
    for _ in range(4):
        data = b.build()
        model = schema.Model.GetRootAs(data, 0)
        graph = model.Subgraphs(0)
        misaligned = False
        for i in range(graph.TensorsLength()):
            t = graph.Tensors(i)
            if t.Type() == schema.TensorType.INT64 and t.Buffer() > 0:
                tab = model.Buffers(t.Buffer())._tab
                misaligned |= tab.Vector(tab.Offset(4)) % 8 != 0
        if not misaligned:
            return data
        pad = schema.BufferT()
        pad.data = [0, 0, 0, 0]
        b.buffers.append(pad)
    raise AssertionError("cannot align the model's int64 constants")


def run_oracle(case: Case) -> list[np.ndarray] | None:
    """TFLM's outputs, or None when it refuses the model (prepare or invoke)."""
    try:
        interp = runtime.Interpreter.from_bytes(case.data, arena_size=ORACLE_ARENA)
        for i, x in enumerate(case.inputs):
            interp.set_input(x, i)
        interp.invoke()
    except RuntimeError:
        return None
    return [interp.get_output(i).copy() for i in range(case.n_outputs)]


def run_engine(case: Case) -> list[np.ndarray]:
    with HostEngine(case.data, ENGINE_ARENA) as engine:
        for i, x in enumerate(case.inputs):
            engine.set_input(i, x)
        engine.invoke()
        return [engine.get_output(i) for i in range(case.n_outputs)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def verdict(case: Case) -> str | None:
    """None when hil agrees with TFLM, else what went wrong."""
    expected = run_oracle(case)
    try:
        actual = run_engine(case)
    except EngineError as exc:
        if expected is None and case.refused:
            return None
        return f"hil refused: {exc}"
    if expected is None:
        return "TFLM refused, hil ran" if case.refused else "TFLM refused a model meant to run"
    if case.refused:
        return "hil and TFLM ran a model meant to be refused"
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        if not same_bits(e, a):
            return f"output {i} differs: TFLM {e.ravel()[:8]}..., hil {a.ravel()[:8]}..."
    return None


def check_generator(gen: Callable[[np.random.Generator], Case], seed: int) -> None:
    rng = np.random.default_rng(seed)
    compared = refused = 0
    failures = []
    while compared < MODELS_PER_OP:
        case = gen(rng)
        problem = verdict(case)
        if problem is not None:
            failures.append((problem, case.params))
        refused += case.refused
        compared += not case.refused
    assert not failures, f"{len(failures)} failures (seed {seed}), first: " + "; ".join(
        map(str, failures[:3])
    )
    print(f"\n{compared} models bit-exact, {refused} refused by both")


# -- random values -----------------------------------------------------------------


def values(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Any bit pattern: floats include NaNs (with payloads), infinities, -0.0."""
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in shape)
    if dtype == BOOL:
        return rng.integers(0, 2, shape).astype(np.bool_)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = rng.integers(0, 256, nbytes, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def dims(rng: np.random.Generator, rank: int, hi: int = 4) -> list[int]:
    return [int(d) for d in rng.integers(1, hi + 1, rank)]


def quant(rng: np.random.Generator, dtype: np.dtype) -> tuple[float | None, int]:
    """Random quantization for int8/int16 tensors (ignored by copy kernels)."""
    if dtype == I8:
        return float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))
    if dtype == I16:
        return float(np.float32(10 ** rng.uniform(-4, -1))), 0
    return None, 0


def pick_type(rng: np.random.Generator, op: str, p_other: float = 0.1) -> tuple[np.dtype, bool]:
    """A type TFLM supports for `op`, or sometimes one it lacks (refused)."""
    others = [t for t in ALL_TYPES if t not in TYPES[op]]
    if others and rng.random() < p_other:
        return others[int(rng.integers(len(others)))], True
    supported = TYPES[op]
    return supported[int(rng.integers(len(supported)))], False


def signed_axis(rng: np.random.Generator, axis: int, rank: int) -> int:
    return axis - rank if rng.random() < 0.5 else axis


# -- generators, one per operator ---------------------------------------------------


def gen_reshape(rng: np.random.Generator) -> Case:
    dtype = ALL_TYPES[int(rng.integers(len(ALL_TYPES)))]
    in_dims = dims(rng, int(rng.integers(0, 7)), 4)
    factors = [p for d in in_dims for p in _prime_factors(d)]
    out_rank = int(rng.integers(1 if factors else 0, 7))
    out_dims = [1] * out_rank
    for p in factors:
        out_dims[int(rng.integers(out_rank))] *= p
    new_shape = list(out_dims)
    if out_rank and rng.random() < 0.5:
        new_shape[int(rng.integers(out_rank))] = -1
    form = str(rng.choice(["plain", "options", "const", "options+const", "dynamic"]))
    if out_rank == 0:
        form = "plain"
    g = Graph()
    x = g.input(values(rng, in_dims, dtype), *quant(rng, dtype))
    ins = [x]
    if form in ("const", "options+const"):
        ins.append(g.const(np.array(new_shape, np.int32)))
    elif form == "dynamic":  # TFLM does not read the shape tensor at all
        ins.append(g.input(np.array(out_dims, np.int32)))
    opts = None
    if form.startswith("options"):
        opts = schema.ReshapeOptionsT()
        opts.newShape = new_shape
    y = g.output(out_dims, dtype, *quant(rng, dtype))
    return g.case(
        OP.RESHAPE,
        ins,
        [y],
        OPT.ReshapeOptions if opts else 0,
        opts,
        dtype=dtype.name,
        input=in_dims,
        output=out_dims,
        form=form,
        new_shape=new_shape,
    )


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def gen_squeeze(rng: np.random.Generator) -> Case:
    dtype = ALL_TYPES[int(rng.integers(len(ALL_TYPES)))]
    rank = int(rng.integers(1, 7))
    in_dims = [1 if rng.random() < 0.4 else int(rng.integers(2, 5)) for _ in range(rank)]
    ones = [i for i, d in enumerate(in_dims) if d == 1]
    listed: list[int] = []
    if ones and rng.random() < 0.6:
        chosen = sorted(rng.choice(ones, int(rng.integers(1, len(ones) + 1)), replace=False))
        listed = [int(signed_axis(rng, int(i), rank)) for i in chosen]
        if rng.random() < 0.2:
            listed.append(listed[0])  # repeats are allowed
        squeezed = {int(i) for i in chosen}
    else:
        squeezed = set(ones)
    out_dims = [d for i, d in enumerate(in_dims) if i not in squeezed]
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    y = g.output(out_dims, dtype)
    opts = None
    if listed or rng.random() < 0.5:
        opts = schema.SqueezeOptionsT()
        opts.squeezeDims = listed
    return g.case(
        OP.SQUEEZE,
        [x],
        [y],
        OPT.SqueezeOptions if opts else 0,
        opts,
        dtype=dtype.name,
        input=in_dims,
        squeeze_dims=listed,
    )


def gen_expand_dims(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "EXPAND_DIMS")
    rank = int(rng.integers(0, 6))
    in_dims = dims(rng, rank)
    axis = int(rng.integers(0, rank + 1))
    out_dims = [*in_dims[:axis], 1, *in_dims[axis:]]
    axis_value = signed_axis(rng, axis, rank + 1)
    axis_shape = () if rng.random() < 0.5 else (1,)
    g = Graph()
    x = g.input(values(rng, in_dims, dtype), *quant(rng, dtype))
    a = g.const(np.full(axis_shape, axis_value, np.int32))
    y = g.output(out_dims, dtype, *quant(rng, dtype))
    return g.case(
        OP.EXPAND_DIMS,
        [x, a],
        [y],
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        axis=axis_value,
    )


def gen_concatenation(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "CONCATENATION", 0.05)
    rank = int(rng.integers(1, 7))
    base = dims(rng, rank, 3)
    axis = int(rng.integers(rank))
    n = int(rng.integers(1, 11)) if rng.random() < 0.2 else int(rng.integers(1, 5))
    sizes = [int(s) for s in rng.integers(1, 4, n)]
    scale, zp = quant(rng, dtype)
    in_q = [(scale, zp)] * n
    why = "type" if refused else ""
    if dtype == I8 and rng.random() < 0.2:  # would need requantizing: TFLM refuses
        k = int(rng.integers(n))
        other = float(np.float32(scale * rng.uniform(0.5, 2.0)))
        in_q[k] = (other, zp) if rng.random() < 0.5 else (scale, (zp + 1) % 128)
        refused, why = True, f"input {k} quantization"
    if dtype == I16 and rng.random() < 0.1:
        in_q = [(scale, 3)] * n
        refused, why = True, "int16 zero point"
    g = Graph()
    ins = []
    for i in range(n):
        shape = [*base[:axis], sizes[i], *base[axis + 1 :]]
        ins.append(g.input(values(rng, shape, dtype), *in_q[i]))
    out_dims = [*base[:axis], sum(sizes), *base[axis + 1 :]]
    y = g.output(out_dims, dtype, scale, zp)
    opts = schema.ConcatenationOptionsT()
    opts.axis = signed_axis(rng, axis, rank)
    return g.case(
        OP.CONCATENATION,
        ins,
        [y],
        OPT.ConcatenationOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        output=out_dims,
        axis=opts.axis,
        sizes=sizes,
        why=why,
    )


def gen_pad(rng: np.random.Generator, code: int = OP.PAD) -> Case:
    name = "PAD" if code == OP.PAD else "PADV2"
    dtype, refused = pick_type(rng, name)
    rank = int(rng.integers(1, 6))
    in_dims = dims(rng, rank)
    pads = rng.integers(0, 4, (rank, 2)).astype(np.int32)
    out_dims = [int(d + p[0] + p[1]) for d, p in zip(in_dims, pads, strict=True)]
    scale, zp = quant(rng, dtype)
    g = Graph()
    x = g.input(values(rng, in_dims, dtype), scale, zp)
    ins = [x, g.const(pads)]
    value_form = "none"
    if rng.random() < (0.25 if code == OP.PAD else 0.85):
        value = values(rng, (), dtype) if rng.random() < 0.5 else values(rng, (1,), dtype)
        if rng.random() < 0.7:
            value_form = "const"
            ins.append(g.const(value, scale, zp))
        else:  # read at every invoke, so it may be a graph input
            value_form = "input"
            ins.append(g.input(value, scale, zp))
    y = g.output(out_dims, dtype, scale, zp)
    opt_type = 0
    opts = None
    if rng.random() < 0.5:
        opt_type = OPT.PadOptions if code == OP.PAD else OPT.PadV2Options
        opts = schema.PadOptionsT() if code == OP.PAD else schema.PadV2OptionsT()
    return g.case(
        code,
        ins,
        [y],
        opt_type,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        paddings=pads.tolist(),
        value=value_form,
        zp=zp,
    )


def gen_padv2(rng: np.random.Generator) -> Case:
    return gen_pad(rng, OP.PADV2)


def slice_dim(size: int, begin: int, end: int, stride: int, bmask: bool, emask: bool):
    """(start, count) of one dim, as TFLM's strided slice evaluates it."""

    def clamp(v: int) -> int:
        lo, hi = (0, size) if stride > 0 else (-1, size - 1)
        return min(max(v, lo), hi)

    start = (
        (0 if stride > 0 else size - 1) if bmask else clamp(begin + size if begin < 0 else begin)
    )
    stop = (size if stride > 0 else -1) if emask else clamp(end + size if end < 0 else end)
    span = stop - start if stride > 0 else start - stop
    return start, max(0, -(-span // abs(stride)))


def gen_strided_slice(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "STRIDED_SLICE")
    while True:
        rank = int(rng.integers(1, 5))
        in_dims = dims(rng, rank, 6)
        begin, end, strides, out_dims = [], [], [], []
        bmask = emask = smask = 0
        for d, size in enumerate(in_dims):
            stride = int(rng.choice([-3, -2, -1, 1, 1, 1, 2, 3]))
            b, e = (int(v) for v in rng.integers(-size - 2, size + 3, 2))
            bm, em = rng.random() < 0.25, rng.random() < 0.25
            start, count = slice_dim(size, b, e, stride, bm, em)
            bmask |= bm << d
            emask |= em << d
            if rng.random() < 0.2 and stride > 0 and 0 <= start < size:
                smask |= 1 << d  # take element `start`, drop the dim
            else:
                out_dims.append(count)
            begin.append(b)
            end.append(e)
            strides.append(stride)
        if 0 not in out_dims:  # TFLM refuses empty tensors
            break
    if rng.random() < 0.1:  # bits past the rank mean nothing
        bmask |= 1 << rank
        emask |= 1 << (rank + 1)
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    ins = [x] + [g.const(np.array(v, np.int32)) for v in (begin, end, strides)]
    y = g.output(out_dims, dtype)
    opts = schema.StridedSliceOptionsT()
    opts.beginMask, opts.endMask, opts.shrinkAxisMask = bmask, emask, smask
    return g.case(
        OP.STRIDED_SLICE,
        ins,
        [y],
        OPT.StridedSliceOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        begin=begin,
        end=end,
        strides=strides,
        begin_mask=bmask,
        end_mask=emask,
        shrink_mask=smask,
    )


def gen_transpose(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "TRANSPOSE")
    rank = int(rng.integers(1, 6))
    in_dims = dims(rng, rank, 5 if rank < 4 else 3)
    perm = [int(p) for p in rng.permutation(rank)]
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    p = g.const(np.array(perm, np.int32))
    y = g.output([in_dims[k] for k in perm], dtype)
    return g.case(
        OP.TRANSPOSE, [x, p], [y], refused=refused, dtype=dtype.name, input=in_dims, perm=perm
    )


def gen_resize_nearest_neighbor(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "RESIZE_NEAREST_NEIGHBOR")
    n, h, w, c = int(rng.integers(1, 3)), *dims(rng, 2, 7), int(rng.integers(1, 4))
    oh, ow = (int(v) for v in rng.integers(1, 15, 2))
    g = Graph()
    x = g.input(values(rng, (n, h, w, c), dtype))
    size = g.const(np.array([oh, ow], np.int32))
    y = g.output((n, oh, ow, c), dtype)
    opts = schema.ResizeNearestNeighborOptionsT()
    opts.alignCorners, opts.halfPixelCenters = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    return g.case(
        OP.RESIZE_NEAREST_NEIGHBOR,
        [x, size],
        [y],
        OPT.ResizeNearestNeighborOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=(n, h, w, c),
        size=(oh, ow),
        align_corners=opts.alignCorners,
        half_pixel_centers=opts.halfPixelCenters,
    )


def gen_shape(rng: np.random.Generator) -> Case:
    dtype = ALL_TYPES[int(rng.integers(len(ALL_TYPES)))]
    in_dims = dims(rng, int(rng.integers(0, 7)), 5)
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    y = g.output((len(in_dims),), I32)
    opts = None
    if rng.random() < 0.5:
        opts = schema.ShapeOptionsT()
        opts.outType = schema.TensorType.INT32
    return g.case(
        OP.SHAPE,
        [x],
        [y],
        OPT.ShapeOptions if opts else 0,
        opts,
        dtype=dtype.name,
        input=in_dims,
    )


def gen_pack(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "PACK")
    rank = int(rng.integers(0, 6))
    in_dims = dims(rng, rank, 3)
    n = int(rng.integers(1, 6))
    axis = int(rng.integers(0, rank + 1))
    g = Graph()
    ins = [g.input(values(rng, in_dims, dtype)) for _ in range(n)]
    y = g.output([*in_dims[:axis], n, *in_dims[axis:]], dtype)
    opts = schema.PackOptionsT()
    opts.valuesCount, opts.axis = n, signed_axis(rng, axis, rank + 1)
    return g.case(
        OP.PACK,
        ins,
        [y],
        OPT.PackOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        n=n,
        axis=opts.axis,
    )


def gen_unpack(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "UNPACK")
    rank = int(rng.integers(1, 7))
    in_dims = dims(rng, rank, 3)
    axis = int(rng.integers(rank))
    in_dims[axis] = num = int(rng.integers(1, 6))
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    outs = [g.output(in_dims[:axis] + in_dims[axis + 1 :], dtype) for _ in range(num)]
    opts = schema.UnpackOptionsT()
    opts.num, opts.axis = num, signed_axis(rng, axis, rank)
    return g.case(
        OP.UNPACK,
        [x],
        outs,
        OPT.UnpackOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        axis=opts.axis,
    )


def gen_split(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "SPLIT")
    rank = int(rng.integers(1, 7))
    in_dims = dims(rng, rank, 3)
    axis = int(rng.integers(rank))
    num = int(rng.integers(1, 5))
    in_dims[axis] = num * int(rng.integers(1, 4))
    part = [*in_dims[:axis], in_dims[axis] // num, *in_dims[axis + 1 :]]
    axis_value = signed_axis(rng, axis, rank)
    g = Graph()
    a = g.const(np.full(() if rng.random() < 0.5 else (1,), axis_value, np.int32))
    x = g.input(values(rng, in_dims, dtype))
    outs = [g.output(part, dtype) for _ in range(num)]
    opts = schema.SplitOptionsT()
    opts.numSplits = num
    return g.case(
        OP.SPLIT,
        [a, x],
        outs,
        OPT.SplitOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        axis=axis_value,
        num_splits=num,
    )


def gen_split_v(rng: np.random.Generator) -> Case:
    dtype, refused = pick_type(rng, "SPLIT_V")
    rank = int(rng.integers(1, 7))
    in_dims = dims(rng, rank, 3)
    axis = int(rng.integers(rank))
    sizes = [int(s) for s in rng.integers(1, 4, int(rng.integers(1, 5)))]
    in_dims[axis] = sum(sizes)
    stated = list(sizes)
    if rng.random() < 0.5:
        stated[int(rng.integers(len(sizes)))] = -1
    axis_value = signed_axis(rng, axis, rank)
    g = Graph()
    x = g.input(values(rng, in_dims, dtype))
    form = str(rng.choice(["int32", "int64", "input"], p=[0.6, 0.2, 0.2]))
    if form == "input":  # TFLM never reads size_splits
        s = g.input(np.array(stated, np.int32))
    else:
        s = g.const(np.array(stated, np.int32 if form == "int32" else np.int64))
    a = g.const(np.full(() if rng.random() < 0.5 else (1,), axis_value, np.int32))
    outs = [g.output([*in_dims[:axis], k, *in_dims[axis + 1 :]], dtype) for k in sizes]
    opts = schema.SplitVOptionsT()
    opts.numSplits = len(sizes)
    return g.case(
        OP.SPLIT_V,
        [x, s, a],
        outs,
        OPT.SplitVOptions,
        opts,
        refused=refused,
        dtype=dtype.name,
        input=in_dims,
        axis=axis_value,
        size_splits=stated,
        form=form,
    )


GENERATORS = {
    "RESHAPE": gen_reshape,
    "SQUEEZE": gen_squeeze,
    "EXPAND_DIMS": gen_expand_dims,
    "CONCATENATION": gen_concatenation,
    "PAD": gen_pad,
    "PADV2": gen_padv2,
    "STRIDED_SLICE": gen_strided_slice,
    "TRANSPOSE": gen_transpose,
    "RESIZE_NEAREST_NEIGHBOR": gen_resize_nearest_neighbor,
    "SHAPE": gen_shape,
    "PACK": gen_pack,
    "UNPACK": gen_unpack,
    "SPLIT": gen_split,
    "SPLIT_V": gen_split_v,
}


@pytest.mark.parametrize("op", list(GENERATORS))
def test_random_models_bit_exact(op: str) -> None:
    check_generator(GENERATORS[op], seed=1000 + list(GENERATORS).index(op))


def test_float_bits_survive() -> None:
    """-0.0, infinities and NaN payloads come through unchanged, the pad value too."""
    specials = np.array([-0.0, np.inf, -np.inf, np.nan], np.float32)
    specials = np.concatenate([specials, np.array([0x7FA00001, 0xFFC12345], np.uint32).view(F32)])
    g = Graph()
    x = g.input(specials.reshape(2, 3))
    pads = g.const(np.array([[1, 0], [0, 2]], np.int32))
    value = g.const(np.array([-0.0], np.float32))
    y = g.output((3, 5), F32)
    case = g.case(OP.PADV2, [x, pads, value], [y])
    assert verdict(case) is None
    out = run_engine(case)[0]
    assert out.view(np.uint32)[0, 0] == 0x80000000  # the -0.0 pad value
    assert out.view(np.uint32)[2, 1] == 0x7FA00001  # signalling NaN, payload kept


# -- refusals with their exact messages ------------------------------------------


def one_op(code, ins, outs, opt_type=0, opts=None, lead_ops: int = 0) -> bytes:
    """A model running `code` on `ins` -> `outs`, each a (shape, dtype, constant
    data or None) triple. With lead_ops, input 0 first passes through that many
    RESHAPEs (to itself), so `code` runs as op index lead_ops."""
    b = ModelBuilder()
    idx = [b.tensor(shape, dtype, data=data) for shape, dtype, data in ins]
    b.inputs = [i for i, (_, _, data) in zip(idx, ins, strict=True) if data is None]
    for _ in range(lead_ops):
        nxt = b.tensor(ins[0][0], ins[0][1])
        b.operator(OP.RESHAPE, [idx[0]], [nxt])
        idx[0] = nxt
    b.outputs = [b.tensor(shape, dtype) for shape, dtype, _ in outs]
    b.operator(code, idx, b.outputs, opt_type, opts)
    return aligned_build(b)


def c32(*v: int) -> np.ndarray:
    return np.array(v, np.int32)


def _opts(cls, **fields):
    o = cls()
    for k, v in fields.items():
        setattr(o, k, v)
    return o


REFUSALS = [
    (
        "transpose-rank6-op2",
        lambda: one_op(
            OP.TRANSPOSE,
            [((1, 2, 1, 2, 1, 2), F32, None), ((6,), I32, c32(5, 4, 3, 2, 1, 0))],
            [((2, 1, 2, 1, 2, 1), F32, None)],
            lead_ops=2,
        ),
        Status.UNSUPPORTED,
        "TRANSPOSE (op index 2): rank 6 is not supported (at most 5)",
    ),
    (
        "transpose-int32",
        lambda: one_op(
            OP.TRANSPOSE, [((2, 3), I32, None), ((2,), I32, c32(1, 0))], [((3, 2), I32, None)]
        ),
        Status.UNSUPPORTED,
        "TRANSPOSE (op index 0): input type INT32 is not supported",
    ),
    (
        "transpose-dynamic-perm",
        lambda: one_op(
            OP.TRANSPOSE, [((2, 3), F32, None), ((2,), I32, None)], [((3, 2), F32, None)]
        ),
        Status.UNSUPPORTED,
        "TRANSPOSE (op index 0): non-constant perm tensor is not supported",
    ),
    (
        "strided-slice-rank5",
        lambda: one_op(
            OP.STRIDED_SLICE,
            [((1,) * 5, F32, None)]
            + [((5,), I32, c32(0, 0, 0, 0, 0))] * 2
            + [((5,), I32, c32(1, 1, 1, 1, 1))],
            [((1,) * 5, F32, None)],
            OPT.StridedSliceOptions,
            _opts(schema.StridedSliceOptionsT, endMask=31),
        ),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): rank 5 is not supported (at most 4)",
    ),
    (
        "strided-slice-ellipsis",
        lambda: _slice_model(ellipsisMask=1),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): ellipsis_mask/new_axis_mask are not supported "
        "(TFLM ignores them)",
    ),
    (
        "strided-slice-new-axis",
        lambda: _slice_model(newAxisMask=2),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): ellipsis_mask/new_axis_mask are not supported "
        "(TFLM ignores them)",
    ),
    (
        "strided-slice-offset",
        lambda: _slice_model(offset=True),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): offset is not supported (TFLM ignores it)",
    ),
    (
        "strided-slice-shrink-negative-stride",
        lambda: _slice_model(strides=(-1,), out=(), shrinkAxisMask=1),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): shrunk dim 0: begin 1 (stride -1) is not an element "
        "of a dim of size 6",
    ),
    (
        "strided-slice-shrink-out-of-range",
        lambda: _slice_model(begin=(7,), out=(), shrinkAxisMask=1),
        Status.UNSUPPORTED,
        "STRIDED_SLICE (op index 0): shrunk dim 0: begin 7 (stride 1) is not an element "
        "of a dim of size 6",
    ),
    (
        "concat-requantize",
        lambda: _concat_int8((0.5, 0), (0.25, 0)),
        Status.UNSUPPORTED,
        "CONCATENATION (op index 0): input 1 scale/zero point differ from the output's "
        "(int8 requantization is not supported)",
    ),
    (
        "concat-relu",
        lambda: one_op(
            OP.CONCATENATION,
            [((2,), F32, None), ((2,), F32, None)],
            [((4,), F32, None)],
            OPT.ConcatenationOptions,
            _opts(schema.ConcatenationOptionsT, fusedActivationFunction=1),
        ),
        Status.UNSUPPORTED,
        "CONCATENATION (op index 0): fused activation RELU is not supported",
    ),
    (
        "concat-uint8",
        lambda: one_op(OP.CONCATENATION, [((2,), U8, None), ((2,), U8, None)], [((4,), U8, None)]),
        Status.UNSUPPORTED,
        "CONCATENATION (op index 0): output type UINT8 is not supported",
    ),
    (
        "concat-11-inputs",
        lambda: one_op(OP.CONCATENATION, [((1,), F32, None)] * 11, [((11,), F32, None)]),
        Status.UNSUPPORTED,
        "CONCATENATION (op index 0): 11 inputs (at most 10)",
    ),
    (
        "pad-rank6",
        lambda: one_op(
            OP.PAD,
            [((1,) * 6, F32, None), ((6, 2), I32, np.zeros((6, 2), np.int32))],
            [((1,) * 6, F32, None)],
        ),
        Status.UNSUPPORTED,
        "PAD (op index 0): rank 6 is not supported (at most 5)",
    ),
    (
        "pad-dynamic-paddings",
        lambda: one_op(OP.PAD, [((2,), F32, None), ((1, 2), I32, None)], [((4,), F32, None)]),
        Status.UNSUPPORTED,
        "PAD (op index 0): non-constant paddings tensor is not supported",
    ),
    (
        "pad-int64-paddings",
        lambda: one_op(
            OP.PAD,
            [((2,), F32, None), ((1, 2), I64, np.ones((1, 2), np.int64))],
            [((4,), F32, None)],
        ),
        Status.UNSUPPORTED,
        "PAD (op index 0): paddings type INT64 is not supported (int32 only)",
    ),
    (
        "pad-uint8",
        lambda: one_op(
            OP.PAD, [((2,), U8, None), ((1, 2), I32, c32(1, 1).reshape(1, 2))], [((4,), U8, None)]
        ),
        Status.UNSUPPORTED,
        "PAD (op index 0): input type UINT8 is not supported",
    ),
    (
        "expand-dims-int32",
        lambda: one_op(
            OP.EXPAND_DIMS, [((2,), I32, None), ((), I32, c32(0)[0])], [((1, 2), I32, None)]
        ),
        Status.UNSUPPORTED,
        "EXPAND_DIMS (op index 0): input type INT32 is not supported",
    ),
    (
        "expand-dims-dynamic-axis",
        lambda: one_op(OP.EXPAND_DIMS, [((2,), F32, None), ((), I32, None)], [((1, 2), F32, None)]),
        Status.UNSUPPORTED,
        "EXPAND_DIMS (op index 0): non-constant axis tensor is not supported",
    ),
    (
        "split-dynamic-axis",
        lambda: one_op(OP.SPLIT, [((), I32, None), ((2,), F32, None)], [((1,), F32, None)] * 2),
        Status.UNSUPPORTED,
        "SPLIT (op index 0): non-constant axis tensor is not supported",
    ),
    (
        "resize-rank3",
        lambda: one_op(
            OP.RESIZE_NEAREST_NEIGHBOR,
            [((2, 2, 1), F32, None), ((2,), I32, c32(4, 4))],
            [((4, 4, 1), F32, None)],
        ),
        Status.UNSUPPORTED,
        "RESIZE_NEAREST_NEIGHBOR (op index 0): input rank 3 is not supported (4 only)",
    ),
    (
        "shape-int64",
        lambda: one_op(OP.SHAPE, [((2, 3), F32, None)], [((2,), I64, None)]),
        Status.UNSUPPORTED,
        "SHAPE (op index 0): output type INT64 is not supported (int32 only)",
    ),
    (
        "unpack-int64",
        lambda: one_op(
            OP.UNPACK,
            [((2,), I64, None)],
            [((), I64, None)] * 2,
            OPT.UnpackOptions,
            _opts(schema.UnpackOptionsT, num=2),
        ),
        Status.UNSUPPORTED,
        "UNPACK (op index 0): input type INT64 is not supported",
    ),
]


def _slice_model(begin=(1,), end=(3,), strides=(1,), out=(2,), **masks) -> bytes:
    return one_op(
        OP.STRIDED_SLICE,
        [
            ((6,), F32, None),
            ((1,), I32, c32(*begin)),
            ((1,), I32, c32(*end)),
            ((1,), I32, c32(*strides)),
        ],
        [(out, F32, None)],
        OPT.StridedSliceOptions,
        _opts(schema.StridedSliceOptionsT, **masks),
    )


def _concat_int8(q0: tuple[float, int], q1: tuple[float, int]) -> bytes:
    b = ModelBuilder()
    x0 = b.tensor((2,), I8, scale=q0[0], zero_point=q0[1])
    x1 = b.tensor((2,), I8, scale=q1[0], zero_point=q1[1])
    y = b.tensor((4,), I8, scale=q0[0], zero_point=q0[1])
    b.operator(
        OP.CONCATENATION, [x0, x1], [y], OPT.ConcatenationOptions, schema.ConcatenationOptionsT()
    )
    b.inputs, b.outputs = [x0, x1], [y]
    return b.build()


def zero_inputs(data: bytes) -> list[np.ndarray]:
    graph = schema.ModelT.InitFromPackedBuf(bytearray(data), 0).subgraphs[0]
    codes = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    numpy_types = {
        "FLOAT32": F32,
        "INT8": I8,
        "INT16": I16,
        "INT32": I32,
        "UINT8": U8,
        "BOOL": BOOL,
        "INT64": I64,
    }
    return [
        np.zeros(tuple(graph.tensors[i].shape), numpy_types[codes[graph.tensors[i].type]])
        for i in graph.inputs
    ]


# Models TFLM runs although they mean something else (it ignores the option)
# or leaves the output unwritten: hil refuses them, TFLM does not.
TFLM_RUNS = {
    "strided-slice-ellipsis",
    "strided-slice-new-axis",
    "strided-slice-offset",
    "strided-slice-shrink-negative-stride",
    "strided-slice-shrink-out-of-range",
}


@pytest.mark.parametrize(
    ("name", "build", "status", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals(name: str, build: Callable[[], bytes], status: int, message: str) -> None:
    data = build()
    with pytest.raises(EngineError) as info:
        HostEngine(data, ENGINE_ARENA)
    assert (info.value.status, info.value.message) == (status, message)
    oracle = run_oracle(Case(data, zero_inputs(data), 1, {}))
    assert (oracle is not None) == (name in TFLM_RUNS)


def test_extreme_slice_indices_run() -> None:
    """Extreme begin/end/stride values are clamped without overflow (TFLM's
    own loop overflows on a stride of 2^31 - 1, so numpy is the oracle)."""
    x = np.arange(6, dtype=np.float32) * 1.5
    cases = [
        ((1,), (5,), (2**31 - 1,), x[1 : 5 : 2**31 - 1]),
        ((-(2**31),), (2**31 - 1,), (1,), x),
        ((2**31 - 1,), (-(2**31),), (-(2**31),), x[::-1][:1]),
        ((4,), (-(2**31),), (-2,), x[4::-2]),
    ]
    for begin, end, stride, want in cases:
        data = _slice_model(begin=begin, end=end, strides=stride, out=want.shape)
        with HostEngine(data, ENGINE_ARENA) as engine:
            engine.set_input(0, x)
            engine.invoke()
            assert same_bits(engine.get_output(0), want), (begin, end, stride)


# -- hostile options: an error, never a crash ---------------------------------------


HOSTILE = [
    ("reshape-count", lambda: one_op(OP.RESHAPE, [((2, 3), F32, None)], [((4, 2), F32, None)])),
    ("reshape-type", lambda: one_op(OP.RESHAPE, [((2, 3), F32, None)], [((6,), I32, None)])),
    ("reshape-legacy-scalar", lambda: one_op(OP.RESHAPE, [((1,), F32, None)], [((0,), F32, None)])),
    (
        "squeeze-not-1",
        lambda: one_op(
            OP.SQUEEZE,
            [((2, 3), F32, None)],
            [((3,), F32, None)],
            OPT.SqueezeOptions,
            _opts(schema.SqueezeOptionsT, squeezeDims=[0]),
        ),
    ),
    (
        "squeeze-axis",
        lambda: one_op(
            OP.SQUEEZE,
            [((1, 3), F32, None)],
            [((3,), F32, None)],
            OPT.SqueezeOptions,
            _opts(schema.SqueezeOptionsT, squeezeDims=[-(2**31)]),
        ),
    ),
    (
        "squeeze-too-many",
        lambda: one_op(
            OP.SQUEEZE,
            [((1, 3), F32, None)],
            [((3,), F32, None)],
            OPT.SqueezeOptions,
            _opts(schema.SqueezeOptionsT, squeezeDims=[0] * 9),
        ),
    ),
    (
        "squeeze-output-small",
        lambda: one_op(OP.SQUEEZE, [((1, 3), F32, None)], [((2,), F32, None)]),
    ),
    (
        "expand-axis",
        lambda: one_op(
            OP.EXPAND_DIMS, [((2,), F32, None), ((), I32, c32(-4)[0])], [((1, 2), F32, None)]
        ),
    ),
    (
        "expand-axis-big",
        lambda: one_op(
            OP.EXPAND_DIMS, [((2,), F32, None), ((), I32, c32(2**31 - 1)[0])], [((1, 2), F32, None)]
        ),
    ),
    (
        "expand-shape",
        lambda: one_op(
            OP.EXPAND_DIMS, [((2,), F32, None), ((), I32, c32(0)[0])], [((2, 1), F32, None)]
        ),
    ),
    (
        "concat-axis",
        lambda: one_op(
            OP.CONCATENATION,
            [((2,), F32, None)] * 2,
            [((4,), F32, None)],
            OPT.ConcatenationOptions,
            _opts(schema.ConcatenationOptionsT, axis=-2),
        ),
    ),
    ("concat-sum", lambda: one_op(OP.CONCATENATION, [((2,), F32, None)] * 2, [((5,), F32, None)])),
    (
        "concat-rank",
        lambda: one_op(
            OP.CONCATENATION, [((2,), F32, None), ((1, 2), F32, None)], [((4,), F32, None)]
        ),
    ),
    (
        "concat-dim",
        lambda: one_op(
            OP.CONCATENATION,
            [((2, 2), F32, None), ((3, 2), F32, None)],
            [((4, 2), F32, None)],
            OPT.ConcatenationOptions,
            _opts(schema.ConcatenationOptionsT, axis=1),
        ),
    ),
    (
        "pad-negative",
        lambda: one_op(
            OP.PAD,
            [((4,), F32, None), ((1, 2), I32, c32(-1, 2).reshape(1, 2))],
            [((5,), F32, None)],
        ),
    ),
    (
        "pad-shape",
        lambda: one_op(
            OP.PAD, [((4,), F32, None), ((1, 2), I32, c32(1, 2).reshape(1, 2))], [((8,), F32, None)]
        ),
    ),
    (
        "pad-count",
        lambda: one_op(
            OP.PAD, [((4,), F32, None), ((1, 1), I32, c32(1).reshape(1, 1))], [((5,), F32, None)]
        ),
    ),
    (
        "pad-huge",
        lambda: one_op(
            OP.PAD,
            [((4,), F32, None), ((1, 2), I32, c32(2**31 - 1, 2**31 - 1).reshape(1, 2))],
            [((4,), F32, None)],
        ),
    ),
    (
        "pad-value-shape",
        lambda: one_op(
            OP.PADV2,
            [
                ((4,), F32, None),
                ((1, 2), I32, c32(1, 1).reshape(1, 2)),
                ((2,), F32, np.zeros(2, np.float32)),
            ],
            [((6,), F32, None)],
        ),
    ),
    ("slice-stride-0", lambda: _slice_model(strides=(0,))),
    ("slice-output", lambda: _slice_model(out=(3,))),
    ("slice-huge-stride", lambda: _slice_model(strides=(2**31 - 1,), out=(7,))),
    ("slice-huge-begin", lambda: _slice_model(begin=(-(2**31),), end=(2**31 - 1,), out=(5,))),
    (
        "slice-begin-count",
        lambda: one_op(
            OP.STRIDED_SLICE,
            [((6,), F32, None), ((2,), I32, c32(0, 0)), ((1,), I32, c32(1)), ((1,), I32, c32(1))],
            [((1,), F32, None)],
        ),
    ),
    (
        "transpose-dup",
        lambda: one_op(
            OP.TRANSPOSE, [((2, 2), F32, None), ((2,), I32, c32(0, 0))], [((2, 2), F32, None)]
        ),
    ),
    (
        "transpose-range",
        lambda: one_op(
            OP.TRANSPOSE, [((2, 2), F32, None), ((2,), I32, c32(0, -1))], [((2, 2), F32, None)]
        ),
    ),
    (
        "transpose-shape",
        lambda: one_op(
            OP.TRANSPOSE, [((2, 3), F32, None), ((2,), I32, c32(1, 0))], [((2, 3), F32, None)]
        ),
    ),
    (
        "resize-output",
        lambda: one_op(
            OP.RESIZE_NEAREST_NEIGHBOR,
            [((1, 2, 2, 1), F32, None), ((2,), I32, c32(3, 3))],
            [((1, 4, 4, 1), F32, None)],
        ),
    ),
    (
        "resize-negative",
        lambda: one_op(
            OP.RESIZE_NEAREST_NEIGHBOR,
            [((1, 2, 2, 1), F32, None), ((2,), I32, c32(-3, 3))],
            [((1, 3, 3, 1), F32, None)],
        ),
    ),
    ("shape-size", lambda: one_op(OP.SHAPE, [((2, 3), F32, None)], [((5,), I32, None)])),
    (
        "pack-count",
        lambda: one_op(
            OP.PACK,
            [((2,), F32, None)] * 2,
            [((2, 2), F32, None)],
            OPT.PackOptions,
            _opts(schema.PackOptionsT, valuesCount=3),
        ),
    ),
    (
        "pack-axis",
        lambda: one_op(
            OP.PACK,
            [((2,), F32, None)] * 2,
            [((2, 2), F32, None)],
            OPT.PackOptions,
            _opts(schema.PackOptionsT, valuesCount=2, axis=2),
        ),
    ),
    (
        "pack-shapes",
        lambda: one_op(
            OP.PACK,
            [((2,), F32, None), ((3,), F32, None)],
            [((2, 2), F32, None)],
            OPT.PackOptions,
            _opts(schema.PackOptionsT, valuesCount=2),
        ),
    ),
    (
        "unpack-num",
        lambda: one_op(
            OP.UNPACK,
            [((3, 2), F32, None)],
            [((2,), F32, None)] * 2,
            OPT.UnpackOptions,
            _opts(schema.UnpackOptionsT, num=2),
        ),
    ),
    (
        "unpack-axis",
        lambda: one_op(
            OP.UNPACK,
            [((2, 2), F32, None)],
            [((2,), F32, None)] * 2,
            OPT.UnpackOptions,
            _opts(schema.UnpackOptionsT, num=2, axis=-3),
        ),
    ),
    (
        "split-not-dividing",
        lambda: one_op(
            OP.SPLIT,
            [((), I32, c32(0)[0]), ((5,), F32, None)],
            [((2,), F32, None), ((3,), F32, None)],
            OPT.SplitOptions,
            _opts(schema.SplitOptionsT, numSplits=2),
            lead_ops=0,
        ),
    ),
    (
        "split-axis",
        lambda: one_op(
            OP.SPLIT,
            [((), I32, c32(1)[0]), ((4,), F32, None)],
            [((2,), F32, None)] * 2,
            OPT.SplitOptions,
            _opts(schema.SplitOptionsT, numSplits=2),
        ),
    ),
    (
        "split-num",
        lambda: one_op(
            OP.SPLIT,
            [((), I32, c32(0)[0]), ((4,), F32, None)],
            [((2,), F32, None)] * 2,
            OPT.SplitOptions,
            _opts(schema.SplitOptionsT, numSplits=0),
        ),
    ),
    (
        "split-v-sizes",
        lambda: one_op(
            OP.SPLIT_V,
            [((5,), F32, None), ((2,), I32, c32(1, 4)), ((), I32, c32(0)[0])],
            [((2,), F32, None), ((3,), F32, None)],
        ),
    ),
    (
        "split-v-two-stretch",
        lambda: one_op(
            OP.SPLIT_V,
            [((5,), F32, None), ((2,), I32, c32(-1, -1)), ((), I32, c32(0)[0])],
            [((2,), F32, None), ((3,), F32, None)],
        ),
    ),
    (
        "split-v-sum",
        lambda: one_op(
            OP.SPLIT_V,
            [((5,), F32, None), ((2,), I32, c32(2, 2)), ((), I32, c32(0)[0])],
            [((2,), F32, None), ((2,), F32, None)],
        ),
    ),
    (
        "wrong-options",
        lambda: one_op(
            OP.TRANSPOSE,
            [((2, 2), F32, None), ((2,), I32, c32(1, 0))],
            [((2, 2), F32, None)],
            OPT.PackOptions,
            schema.PackOptionsT(),
        ),
    ),
]


def _in_place() -> bytes:
    b = ModelBuilder()
    x = b.tensor((2, 2), F32)
    b.operator(OP.TRANSPOSE, [x, b.tensor((2,), I32, data=c32(1, 0))], [x])
    b.inputs, b.outputs = [x], [x]
    return b.build()


HOSTILE.append(("output-is-input", _in_place))


def test_reshape_without_shape_input() -> None:
    """The shape operand may also be listed as absent (-1)."""
    rng = np.random.default_rng(5)
    g = Graph()
    x = g.input(values(rng, (2, 3, 2), I8))
    y = g.output((3, 4), I8)
    case = g.case(OP.RESHAPE, [x, -1], [y])
    assert verdict(case) is None


@pytest.mark.parametrize("build", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_options_refused(build: Callable[[], bytes]) -> None:
    with pytest.raises(EngineError) as info:
        HostEngine(build(), ENGINE_ARENA)
    assert info.value.status in (Status.MODEL_INVALID, Status.UNSUPPORTED), info.value
    assert info.value.message


FUZZ_SCRIPT = r"""
import collections, json, sys
import numpy as np
from hil.devtools.engine_host import EngineError, HostEngine, load_library

lib = load_library(True)
assert hasattr(lib, "__asan_init"), "not an AddressSanitizer build"
engine = HostEngine(arena_bytes=1 << 18, sanitize=True)
stats = collections.Counter()
for line in open(sys.argv[1]).read().split():
    try:
        engine.load(bytes.fromhex(line))
    except EngineError as exc:
        stats[str(exc.status)] += 1
        continue
    stats["loaded"] += 1
    for i, spec in enumerate(engine.inputs):
        engine.set_input(i, np.zeros(spec.shape, spec.dtype))
    engine.invoke()
    for i in range(len(engine.outputs)):
        engine.get_output(i)
print(json.dumps(stats))
"""

EXTREMES = [0, 1, 2, 3, 5, 7, 8, -1, -2, -7, 2**31 - 1, -(2**31), 2**15, 255]


def mutate_fields(rng: np.random.Generator, data: bytes) -> bytes:
    """One semantic change: an option, a shape dim, a constant index value,
    a tensor type or an operator input/output index set to a hostile value."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    op = graph.operators[0]
    what = int(rng.integers(5))
    value = int(rng.choice(EXTREMES))
    if what == 0 and op.builtinOptions is not None:
        fields = [k for k, v in vars(op.builtinOptions).items() if v is not None]
        if fields:
            name = fields[int(rng.integers(len(fields)))]
            old = getattr(op.builtinOptions, name)
            if isinstance(old, bool):
                new = not old
            elif isinstance(old, int):
                new = value if name != "fusedActivationFunction" else value % 128
            else:  # a list, e.g. squeezeDims / newShape
                new = [*list(old), value] if rng.random() < 0.3 or len(old) == 0 else list(old)
                new[int(rng.integers(len(new)))] = value
            setattr(op.builtinOptions, name, new)
    elif what == 1:
        t = graph.tensors[int(rng.integers(len(graph.tensors)))]
        if t.shape is not None and len(t.shape) and rng.random() < 0.8:
            shape = [int(d) for d in t.shape]
            shape[int(rng.integers(len(shape)))] = value % 9
            t.shape = shape
        else:
            t.shape = [int(d) for d in rng.integers(1, 4, int(rng.integers(0, 7)))]
    elif what == 2:
        consts = [t for t in graph.tensors if t.buffer and model.buffers[t.buffer].data is not None]
        if consts:
            t = consts[int(rng.integers(len(consts)))]
            raw = np.array(model.buffers[t.buffer].data, np.uint8)
            if len(raw) >= 4:
                k = int(rng.integers(len(raw) // 4)) * 4
                raw[k : k + 4] = np.frombuffer(np.int32(value).tobytes(), np.uint8)
                model.buffers[t.buffer].data = raw
    elif what == 3:
        t = graph.tensors[int(rng.integers(len(graph.tensors)))]
        t.type = int(rng.choice([0, 1, 2, 3, 4, 6, 7, 9, 10, 16]))
    else:
        lists = [op.inputs, op.outputs]
        target = lists[int(rng.integers(2))]
        if len(target):
            target[int(rng.integers(len(target)))] = int(rng.integers(-1, len(graph.tensors)))
    b = flatbuffers.Builder(1024)
    try:
        b.Finish(model.Pack(b), file_identifier=b"TFL3")
    except (TypeError, ValueError, OverflowError):  # the value does not fit the field
        return mutate_fields(rng, data)
    return bytes(b.Output())


def mutate_words(rng: np.random.Generator, data: bytes) -> bytes:
    """Up to three aligned 32-bit words of the file overwritten."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        p = int(rng.integers(len(b) - 4)) & ~3
        b[p : p + 4] = (int(rng.choice(EXTREMES)) % 2**32).to_bytes(4, "little")
    return bytes(b)


def test_hostile_models_never_crash(tmp_path: Path) -> None:
    """Every operator's models with hostile fields (options, shapes, index
    tensors, types, tensor indices) and with overwritten words: each is
    refused or runs, under AddressSanitizer + UBSan, never a fault."""
    try:
        build_library(sanitize=True)
        env = asan_env()
    except ToolMissingError as exc:
        pytest.fail(f"no sanitizer toolchain (tools/setup.sh installs it): {exc}", pytrace=False)
    rng = np.random.default_rng(77)
    models = []
    for op in GENERATORS:
        for _ in range(4):
            base = GENERATORS[op](rng).data
            models += [mutate_fields(rng, base) for _ in range(40)]
            models += [mutate_words(rng, base) for _ in range(10)]
    listing = tmp_path / "models.txt"
    listing.write_text("\n".join(m.hex() for m in models))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, str(listing)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"engine crashed or UB:\n{result.stderr[-4000:]}"
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\n{len(models)} hostile models: {stats}")
    assert sum(stats.values()) == len(models)
    assert stats.get("loaded", 0) > 300  # many mutations keep a valid model
    refused = {int(k) for k in stats if k.isdigit()}
    assert refused <= {Status.MODEL_INVALID, Status.UNSUPPORTED, Status.ARENA_TOO_SMALL}


# -- arena: never more than TFLM's ---------------------------------------------------


def tflm_arena_total(data: bytes, inputs: list[np.ndarray], capfd) -> int:
    interp = runtime.Interpreter.from_bytes(data, arena_size=ORACLE_ARENA)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    interp.invoke()
    capfd.readouterr()
    interp.print_allocations()
    err = capfd.readouterr().err
    match = re.search(r"Arena allocation total (\d+) bytes", err)
    assert match, err
    return int(match.group(1))


@pytest.mark.parametrize("op", list(GENERATORS))
def test_arena_not_above_tflm(op: str, capfd) -> None:
    rng = np.random.default_rng(4242)
    worst = None
    for _ in range(10):
        case = GENERATORS[op](rng)
        if case.refused:
            continue
        tflm = tflm_arena_total(case.data, case.inputs, capfd)
        with HostEngine(case.data, ENGINE_ARENA) as engine:
            used = engine.arena_used
        assert used <= tflm, f"hil {used} B > TFLM {tflm} B for {case.params}"
        worst = max(worst or 0.0, used / tflm)
    assert worst is not None

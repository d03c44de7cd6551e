"""hil.model.facts: MAC and parameter counts against hand-computed figures.

Every expected number is written as the arithmetic that gives it, from shapes a reader can
check in the model built beside it (or, for the real models, in the shapes the test reads
and asserts first)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.errors import HilError, InvalidModelError, ModelFileError
from hil.model.facts import (
    UNMODELLED_RULE,
    ZERO_MAC_RULE,
    ModelFacts,
    ModelFactsError,
    efficiency,
    model_facts,
)
from hil.model.file import ModelFile
from tests.model_builder import ModelBuilder

OP = schema.BuiltinOperator
OPTS = schema.BuiltinOptions
SAME, VALID = schema.Padding.SAME, schema.Padding.VALID


def facts_of(tmp_path: Path, b: ModelBuilder) -> ModelFacts:
    path = tmp_path / "model.tflite"
    path.write_bytes(b.build())
    return model_facts(ModelFile(path))


def const(b: ModelBuilder, shape: tuple[int, ...], dtype: type = np.float32) -> int:
    return b.tensor(shape, dtype, data=np.zeros(shape, dtype))


# --------------------------------------------------------------------------- CONV_2D


def conv_model(
    in_shape: tuple[int, ...],
    filt: tuple[int, ...],
    out_shape: tuple[int, ...],
    stride: int = 1,
    padding: int = SAME,
    dilation: int = 1,
) -> ModelBuilder:
    """int8 CONV_2D with int32 bias, so parameter bytes differ from parameter counts."""
    b = ModelBuilder()
    x = b.tensor(in_shape, np.int8, name="x")
    w = const(b, filt, np.int8)
    bias = const(b, (filt[0],), np.int32)
    y = b.tensor(out_shape, np.int8, name="y")
    opts = schema.Conv2DOptionsT()
    opts.padding, opts.strideH, opts.strideW = padding, stride, stride
    opts.dilationHFactor = opts.dilationWFactor = dilation
    b.operator(OP.CONV_2D, [x, w, bias], [y], OPTS.Conv2DOptions, opts)
    b.inputs, b.outputs = [x], [y]
    return b


@pytest.mark.parametrize(
    ("in_shape", "filt", "out_shape", "stride", "padding", "dilation", "macs"),
    [
        # SAME, stride 1: 4x4 stays 4x4
        ((1, 4, 4, 3), (8, 3, 3, 3), (1, 4, 4, 8), 1, SAME, 1, 1 * 4 * 4 * 8 * 3 * 3 * 3),
        # SAME, stride 2 on odd 5x5: ceil(5/2) = 3
        ((1, 5, 5, 2), (4, 3, 3, 2), (1, 3, 3, 4), 2, SAME, 1, 1 * 3 * 3 * 4 * 3 * 3 * 2),
        # VALID, stride 2, batch 2: ceil((9 - 2)/2) = 4
        ((2, 9, 9, 3), (4, 3, 3, 3), (2, 4, 4, 4), 2, VALID, 1, 2 * 4 * 4 * 4 * 3 * 3 * 3),
        # VALID, dilation 2: 7 - (3-1)*2 = 3
        ((1, 7, 7, 1), (2, 3, 3, 1), (1, 3, 3, 2), 1, VALID, 2, 1 * 3 * 3 * 2 * 3 * 3 * 1),
        # grouped: IC 6, filter depth 3 => 2 groups, each output channel sees 3 inputs
        ((1, 4, 4, 6), (4, 1, 1, 3), (1, 4, 4, 4), 1, SAME, 1, 1 * 4 * 4 * 4 * 1 * 1 * 3),
    ],
)
def test_conv_2d_macs(
    tmp_path: Path,
    in_shape: tuple[int, ...],
    filt: tuple[int, ...],
    out_shape: tuple[int, ...],
    stride: int,
    padding: int,
    dilation: int,
    macs: int,
) -> None:
    facts = facts_of(tmp_path, conv_model(in_shape, filt, out_shape, stride, padding, dilation))
    (op,) = facts.ops
    assert (op.index, op.op, op.macs) == (0, "CONV_2D", macs)
    assert facts.macs == macs
    assert op.input_shapes == (in_shape, filt, (filt[0],))
    assert op.output_shapes == (out_shape,)
    weights, bias = math.prod(filt), filt[0]
    assert facts.params == op.params == weights + bias
    assert facts.param_bytes == op.param_bytes == weights * 1 + bias * 4  # int8 w, int32 b


def test_conv_stored_output_must_match_padding(tmp_path: Path) -> None:
    # 3x3 VALID on 4x4 gives 2x2, but the model claims 4x4.
    b = conv_model((1, 4, 4, 3), (8, 3, 3, 3), (1, 4, 4, 8), padding=VALID)
    with pytest.raises(ModelFactsError, match=r"op 0 \(CONV_2D\).*expected \[2, 2\]"):
        facts_of(tmp_path, b)


# ------------------------------------------------------------------ DEPTHWISE_CONV_2D


def depthwise_model(
    in_shape: tuple[int, ...],
    filt: tuple[int, ...],
    out_shape: tuple[int, ...],
    multiplier: int,
    stride: int = 1,
    padding: int = SAME,
) -> ModelBuilder:
    b = ModelBuilder()
    x = b.tensor(in_shape, np.float32, name="x")
    w, bias = const(b, filt), const(b, (filt[3],))
    y = b.tensor(out_shape, np.float32, name="y")
    opts = schema.DepthwiseConv2DOptionsT()
    opts.padding, opts.strideH, opts.strideW = padding, stride, stride
    opts.depthMultiplier = multiplier
    b.operator(OP.DEPTHWISE_CONV_2D, [x, w, bias], [y], OPTS.DepthwiseConv2DOptions, opts)
    b.inputs, b.outputs = [x], [y]
    return b


def test_depthwise_with_depth_multiplier(tmp_path: Path) -> None:
    # IC 2, depth multiplier 3 => OC 6; VALID 3x3 on 5x5 => 3x3
    b = depthwise_model((1, 5, 5, 2), (1, 3, 3, 6), (1, 3, 3, 6), 3, padding=VALID)
    facts = facts_of(tmp_path, b)
    assert facts.macs == 1 * 3 * 3 * 6 * 3 * 3  # N*OH*OW*OC*KH*KW
    assert facts.ops[0].mac_rule.startswith("N*OH*OW*OC*KH*KW")


def test_depthwise_valid_and_same_stride(tmp_path: Path) -> None:
    valid = depthwise_model((1, 5, 5, 2), (1, 3, 3, 2), (1, 3, 3, 2), 1, padding=VALID)
    assert facts_of(tmp_path, valid).macs == 1 * 3 * 3 * 2 * 3 * 3
    same = depthwise_model((2, 6, 6, 4), (1, 3, 3, 4), (2, 3, 3, 4), 1, stride=2)
    assert facts_of(tmp_path, same).macs == 2 * 3 * 3 * 4 * 3 * 3
    assert facts_of(tmp_path, same).params == 3 * 3 * 4 + 4


def test_depthwise_output_channels_must_be_a_multiple_of_input(tmp_path: Path) -> None:
    b = depthwise_model((1, 5, 5, 4), (1, 3, 3, 6), (1, 5, 5, 6), 1)
    with pytest.raises(ModelFactsError, match=r"DEPTHWISE_CONV_2D.*IC\*depth_multiplier"):
        facts_of(tmp_path, b)


# ------------------------------------------------------------------- FULLY_CONNECTED


def fc_model(
    in_shape: tuple[int, ...], weights: tuple[int, int], out_shape: tuple[int, ...], keep: bool
) -> ModelBuilder:
    b = ModelBuilder()
    x = b.tensor(in_shape, np.float32, name="x")
    w, bias = const(b, weights), const(b, (weights[0],))
    y = b.tensor(out_shape, np.float32, name="y")
    opts = schema.FullyConnectedOptionsT()
    opts.keepNumDims = keep
    b.operator(OP.FULLY_CONNECTED, [x, w, bias], [y], OPTS.FullyConnectedOptions, opts)
    b.inputs, b.outputs = [x], [y]
    return b


@pytest.mark.parametrize(
    ("in_shape", "weights", "out_shape", "keep", "macs"),
    [
        ((1, 8), (5, 8), (1, 5), False, 1 * 5 * 8),
        ((3, 8), (5, 8), (3, 5), False, 3 * 5 * 8),  # batch 3
        ((1, 2, 2, 4), (5, 16), (1, 5), False, 1 * 5 * 16),  # 16 elements = 1 row of 16
        ((4, 2, 8), (5, 8), (8, 5), False, 8 * 5 * 8),  # 64 elements = 8 rows of 8
        ((2, 3, 8), (5, 8), (2, 3, 5), True, (2 * 3) * 5 * 8),  # keep_num_dims
    ],
)
def test_fully_connected_macs(
    tmp_path: Path,
    in_shape: tuple[int, ...],
    weights: tuple[int, int],
    out_shape: tuple[int, ...],
    keep: bool,
    macs: int,
) -> None:
    facts = facts_of(tmp_path, fc_model(in_shape, weights, out_shape, keep))
    assert facts.macs == facts.ops[0].macs == macs
    assert facts.params == weights[0] * weights[1] + weights[0]


@pytest.mark.parametrize(
    ("in_shape", "out_shape", "keep", "match"),
    [
        ((2, 3, 8), (6, 5), True, "keep_num_dims=True"),  # keep_num_dims must keep [2, 3]
        ((2, 3, 8), (3, 10), False, "keep_num_dims=False"),  # last dim must be units
        ((1, 12), (1, 5), False, "not a whole number of rows"),  # 12 % 8 != 0
    ],
)
def test_fully_connected_inconsistent_shapes(
    tmp_path: Path, in_shape: tuple[int, ...], out_shape: tuple[int, ...], keep: bool, match: str
) -> None:
    with pytest.raises(ModelFactsError, match=rf"op 0 \(FULLY_CONNECTED\).*{match}"):
        facts_of(tmp_path, fc_model(in_shape, (5, 8), out_shape, keep))


# -------------------------------------------------------------------- TRANSPOSE_CONV


def test_transpose_conv_scatter_macs(tmp_path: Path) -> None:
    b = ModelBuilder()
    out_shape = b.tensor((4,), np.int32, data=np.array([1, 6, 6, 2], np.int32))
    w = const(b, (2, 3, 3, 4))  # [OC, KH, KW, IC]
    x = b.tensor((1, 3, 3, 4), np.float32, name="x")
    y = b.tensor((1, 6, 6, 2), np.float32, name="y")
    opts = schema.TransposeConvOptionsT()
    opts.padding, opts.strideH, opts.strideW = SAME, 2, 2
    b.operator(OP.TRANSPOSE_CONV, [out_shape, w, x], [y], OPTS.TransposeConvOptions, opts)
    b.inputs, b.outputs = [x], [y]
    facts = facts_of(tmp_path, b)
    assert facts.macs == 1 * 3 * 3 * 4 * 3 * 3 * 2  # N*IH*IW*IC*KH*KW*OC
    # the output-shape operand is a constant too
    assert facts.params == 4 + 2 * 3 * 3 * 4
    assert facts.param_bytes == 4 * 4 + 2 * 3 * 3 * 4 * 4


# ----------------------------------------------------------------------------- SVDF


def test_svdf_feature_and_time_filter_macs(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((2, 10), np.float32, name="x")  # batch 2, input size 10
    wf = const(b, (12, 10))  # 12 filters = 6 units * rank 2
    wt = const(b, (12, 5))  # memory size 5
    bias = const(b, (6,))
    state = const(b, (2, 12 * 5))  # activation state, with initial values in its buffer
    b.tensors[state].isVariable = True
    y = b.tensor((2, 6), np.float32, name="y")
    opts = schema.SVDFOptionsT()
    opts.rank = 2
    b.operator(OP.SVDF, [x, wf, wt, bias, state], [y], OPTS.SVDFOptions, opts)
    b.inputs, b.outputs = [x], [y]
    facts = facts_of(tmp_path, b)
    assert facts.macs == 2 * 12 * 10 + 2 * 12 * 5  # feature filter + time filter
    # the variable state is not a parameter, though its buffer holds data
    assert facts.params == 12 * 10 + 12 * 5 + 6
    assert facts.param_bytes == (12 * 10 + 12 * 5 + 6) * 4


# ------------------------------------------------------- UNIDIRECTIONAL_SEQUENCE_LSTM


def lstm_model(
    batch: int,
    steps: int,
    n_in: int,
    n_cell: int,
    n_out: int,
    *,
    cifg: bool = False,
    peephole: bool = False,
    time_major: bool = False,
) -> ModelBuilder:
    """Input slots as the TFLite LSTM kernel reads them; -1 marks an omitted input."""
    b = ModelBuilder()
    lead = (steps, batch) if time_major else (batch, steps)
    x = b.tensor((*lead, n_in), np.float32, name="x")
    no_input_gate = [-1] if cifg else []
    i2g = no_input_gate + [const(b, (n_cell, n_in)) for _ in range(4 - cifg)]
    r2g = no_input_gate + [const(b, (n_cell, n_out)) for _ in range(4 - cifg)]
    peep = no_input_gate + [const(b, (n_cell,)) for _ in range(2 + (not cifg))]
    peep = peep if peephole else [-1, -1, -1]
    biases = no_input_gate + [const(b, (n_cell,)) for _ in range(4 - cifg)]
    projection = [const(b, (n_out, n_cell)), -1] if n_out != n_cell else [-1, -1]
    states = [b.tensor((batch, n), np.float32, name=f"s{n}") for n in (n_out, n_cell)]
    for s in states:
        b.tensors[s].isVariable = True
    y = b.tensor((*lead, n_out), np.float32, name="y")
    opts = schema.UnidirectionalSequenceLSTMOptionsT()
    opts.timeMajor = time_major
    inputs = [x, *i2g, *r2g, *peep, *biases, *projection, *states, -1, -1, -1, -1]
    assert len(inputs) == 24
    b.operator(
        OP.UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, [y], OPTS.UnidirectionalSequenceLSTMOptions, opts
    )
    b.inputs, b.outputs = [x], [y]
    return b


def test_lstm_gate_matmuls_times_steps(tmp_path: Path) -> None:
    # batch 2, 5 time steps, 3 inputs, 4 cells: 4 gates x (input [4,3] + recurrent [4,4])
    facts = facts_of(tmp_path, lstm_model(2, 5, 3, 4, 4))
    assert facts.macs == 2 * 5 * (4 * 4 * 3 + 4 * 4 * 4)
    assert facts.params == 4 * (4 * 3) + 4 * (4 * 4) + 4 * 4  # weights + 4 biases
    time_major = facts_of(tmp_path, lstm_model(2, 5, 3, 4, 4, time_major=True))
    assert time_major.macs == 2 * 5 * (4 * 4 * 3 + 4 * 4 * 4)


def test_lstm_cifg_peephole_projection(tmp_path: Path) -> None:
    # 3 gates (CIFG), 2 peepholes [4], projection [2, 4] => recurrent weights are [4, 2]
    facts = facts_of(tmp_path, lstm_model(2, 5, 3, 4, 2, cifg=True, peephole=True))
    assert facts.macs == 2 * 5 * (3 * 4 * 3 + 3 * 4 * 2 + 2 * 4 + 2 * 4)


# ---------------------------------------------------------------------- BATCH_MATMUL


@pytest.mark.parametrize(("lhs", "adj_x"), [((2, 3, 4), False), ((2, 4, 3), True)])
def test_batch_matmul(tmp_path: Path, lhs: tuple[int, ...], adj_x: bool) -> None:
    b = ModelBuilder()
    a = b.tensor(lhs, np.float32, name="a")
    c = b.tensor((2, 4, 5), np.float32, name="c")
    y = b.tensor((2, 3, 5), np.float32, name="y")
    opts = schema.BatchMatMulOptionsT()
    opts.adjX = adj_x
    b.operator(OP.BATCH_MATMUL, [a, c], [y], OPTS.BatchMatMulOptions, opts)
    b.inputs, b.outputs = [a, c], [y]
    facts = facts_of(tmp_path, b)
    assert facts.macs == 2 * 3 * 5 * 4  # output elements * K
    assert facts.params == 0 and facts.param_bytes == 0  # both operands are activations


# ------------------------------------------------------------ 0-MAC ops and histogram


def test_zero_mac_operators(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), np.float32, name="x")
    pooled = b.tensor((1, 2, 2, 2), np.float32, name="pooled")
    offset = const(b, (1, 2, 2, 2))
    added = b.tensor((1, 2, 2, 2), np.float32, name="added")
    new_shape = b.tensor((2,), np.int32, data=np.array([1, 8], np.int32))
    flat = b.tensor((1, 8), np.float32, name="flat")
    y = b.tensor((1, 8), np.float32, name="y")
    z = b.tensor((1, 8), np.float32, name="z")
    pool = schema.Pool2DOptionsT()
    pool.padding = VALID
    pool.strideH = pool.strideW = pool.filterHeight = pool.filterWidth = 2
    b.operator(OP.AVERAGE_POOL_2D, [x], [pooled], OPTS.Pool2DOptions, pool)
    b.operator(OP.ADD, [pooled, offset], [added])
    b.operator(OP.RESHAPE, [added, new_shape], [flat])
    b.operator(OP.SOFTMAX, [flat], [y])
    b.operator(OP.ADD, [y, y], [z])
    b.inputs, b.outputs = [x], [z]
    facts = facts_of(tmp_path, b)
    assert [op.macs for op in facts.ops] == [0, 0, 0, 0, 0]
    assert all(op.mac_rule == ZERO_MAC_RULE for op in facts.ops)
    assert facts.macs == 0 and facts.unmodelled_ops == []
    assert facts.op_histogram == {"ADD": 2, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "SOFTMAX": 1}
    assert facts.op_count == 5
    assert facts.params == 1 * 2 * 2 * 2 + 2
    assert [op.params for op in facts.ops] == [0, 1 * 2 * 2 * 2, 2, 0, 0]


def test_unmodelled_mac_operator_is_flagged(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3), np.float32, name="x")
    w, r, bias = const(b, (4, 3)), const(b, (4, 4)), const(b, (4,))
    h = b.tensor((1, 4), np.float32, name="h")
    b.tensors[h].isVariable = True
    y = b.tensor((1, 4), np.float32, name="y")
    b.operator(OP.RNN, [x, w, r, bias, h], [y])
    b.inputs, b.outputs = [x], [y]
    facts = facts_of(tmp_path, b)
    assert facts.macs == 0 and facts.ops[0].mac_rule == UNMODELLED_RULE
    assert facts.unmodelled_ops == ["RNN"]


# ------------------------------------------------------------------ shared constants


def test_shared_constant_tensor_counted_once(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), np.float32, name="x")
    w, bias = const(b, (4, 4)), const(b, (4,))
    h = b.tensor((1, 4), np.float32, name="h")
    y = b.tensor((1, 4), np.float32, name="y")
    fc = schema.FullyConnectedOptionsT()
    b.operator(OP.FULLY_CONNECTED, [x, w, bias], [h], OPTS.FullyConnectedOptions, fc)
    b.operator(OP.FULLY_CONNECTED, [h, w, bias], [y], OPTS.FullyConnectedOptions, fc)
    b.inputs, b.outputs = [x], [y]
    facts = facts_of(tmp_path, b)
    assert facts.macs == 1 * 4 * 4 + 1 * 4 * 4
    assert [op.params for op in facts.ops] == [4 * 4 + 4, 4 * 4 + 4]  # each op owns them
    assert facts.params == 4 * 4 + 4  # but the model stores them once
    assert facts.param_bytes == (4 * 4 + 4) * 4


def test_shared_buffer_counted_once(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), np.float32, name="x")
    w1, w2 = const(b, (4, 4)), const(b, (4, 4))
    b.tensors[w2].buffer = b.tensors[w1].buffer  # two tensors, one buffer
    h = b.tensor((1, 4), np.float32, name="h")
    y = b.tensor((1, 4), np.float32, name="y")
    fc = schema.FullyConnectedOptionsT()
    b.operator(OP.FULLY_CONNECTED, [x, w1, -1], [h], OPTS.FullyConnectedOptions, fc)
    b.operator(OP.FULLY_CONNECTED, [h, w2, -1], [y], OPTS.FullyConnectedOptions, fc)
    b.inputs, b.outputs = [x], [y]
    facts = facts_of(tmp_path, b)
    assert facts.params == 4 * 4 and facts.param_bytes == 4 * 4 * 4
    assert facts.ops[0].input_shapes == ((1, 4), (4, 4), None)  # omitted bias


# ----------------------------------------------------------------------------- errors


def test_dynamic_shape_is_a_clear_error(tmp_path: Path) -> None:
    b = fc_model((1, 8), (5, 8), (1, 5), keep=False)
    b.tensors[0].shape = [-1, 8]
    # hil.model.check refuses it when the file is opened, before any fact is read
    with pytest.raises(InvalidModelError, match=r"tensor 0 has dimension 0 = -1; shapes must"):
        facts_of(tmp_path, b)


def test_dynamic_output_shape_is_a_clear_error(tmp_path: Path) -> None:
    b = conv_model((1, 4, 4, 3), (8, 3, 3, 3), (1, -1, -1, 8))
    with pytest.raises(InvalidModelError, match=r"tensor \d has dimension 1 = -1"):
        facts_of(tmp_path, b)


def test_missing_shape_is_a_clear_error(tmp_path: Path) -> None:
    b = conv_model((1, 4, 4, 3), (8, 3, 3, 3), (1, 4, 4, 8))
    b.tensors[1].shape = None  # the filter: a scalar now, which its data does not fit
    with pytest.raises(InvalidModelError, match=r"tensor 1: buffer 1 holds 216 bytes, its shape"):
        facts_of(tmp_path, b)


def test_wrong_rank_is_a_clear_error(tmp_path: Path) -> None:
    b = conv_model((1, 4, 4, 3), (8, 3, 3, 3), (1, 4, 4, 8))
    b.tensors[0].shape = [16, 3]
    with pytest.raises(ModelFactsError, match=r"CONV_2D.*shape \[16, 3\], expected rank 4"):
        facts_of(tmp_path, b)


def test_dynamic_shape_on_a_zero_mac_op_is_refused_when_opened(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((-1, 4), np.float32, name="x")
    y = b.tensor((-1, 4), np.float32, name="y")
    b.operator(OP.SOFTMAX, [x], [y])
    b.inputs, b.outputs = [x], [y]
    with pytest.raises(InvalidModelError, match=r"tensor 0 has dimension 0 = -1"):
        facts_of(tmp_path, b)


def test_errors_are_hil_errors() -> None:
    assert issubclass(ModelFactsError, ModelFileError) and issubclass(ModelFactsError, HilError)


# ------------------------------------------------------------------ to_dict, efficiency


def figures_have_units(node: Any, key: str = "") -> None:
    """Every number sits in a {"value", "unit"} figure (op indices aside)."""
    if isinstance(node, dict):
        if "value" in node:
            assert set(node) == {"value", "unit"} and isinstance(node["unit"], str), node
            return
        for k, v in node.items():
            figures_have_units(v, k)
    elif isinstance(node, list):
        for v in node:
            figures_have_units(v, key)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        assert key == "index", f"bare number {node!r} under {key!r}"


def test_to_dict_is_json_with_units(models_dir: Path) -> None:
    facts = model_facts(ModelFile(models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"))
    data = json.loads(json.dumps(facts.to_dict()))
    figures_have_units(data)
    assert data["macs"] == {"value": facts.macs, "unit": "MAC/inference"}
    assert data["params"]["unit"] == "elements" and data["param_bytes"]["unit"] == "bytes"
    assert data["op_count"] == {"value": 13, "unit": "operators"}
    assert data["inputs"][0]["shape"]["value"] == [1, 49, 10, 1]
    assert data["ops"][0]["op"] == "CONV_2D" and data["ops"][0]["index"] == 0


def test_efficiency_names_the_counter_kind(models_dir: Path) -> None:
    facts = model_facts(ModelFile(models_dir / "hello_world_int8.tflite"))
    insn = efficiency(facts, "instructions", 5760, arena_bytes=1504)
    assert insn["macs_per_instruction"] == {"value": 288 / 5760, "unit": "MAC/instruction"}
    assert not any("cycle" in k for k in insn)
    assert insn["arena_bytes_per_param"] == {"value": 1504 / 321, "unit": "arena bytes/parameter"}
    figures_have_units({k: v for k, v in insn.items() if k != "counter"})
    assert insn["counter"] == {"kind": "instructions", "value": 5760, "unit": "instructions"}
    cyc = efficiency(facts, "cycles", 2880, arena_bytes=1504)
    assert cyc["macs_per_cycle"]["value"] == 288 / 2880 and "macs_per_instruction" not in cyc
    assert efficiency(facts, "ticks", 100, 0)["macs_per_tick"]["unit"] == "MAC/tick"


@pytest.mark.parametrize(
    ("kind", "value", "arena", "match"),
    [
        ("cycle", 10, 0, "unknown counter kind"),
        ("cycles", 0, 0, "must be positive"),
        ("instructions", 10, -1, "must not be negative"),
    ],
)
def test_efficiency_refuses_bad_input(
    models_dir: Path, kind: str, value: int, arena: int, match: str
) -> None:
    facts = model_facts(ModelFile(models_dir / "hello_world_int8.tflite"))
    with pytest.raises(HilError, match=match):
        efficiency(facts, kind, value, arena)


def test_efficiency_without_parameters(tmp_path: Path) -> None:
    b = ModelBuilder()
    x, y = b.tensor((1, 4), np.float32), b.tensor((1, 4), np.float32)
    b.operator(OP.SOFTMAX, [x], [y])
    b.inputs, b.outputs = [x], [y]
    result = efficiency(facts_of(tmp_path, b), "cycles", 10, 64)
    assert result["arena_bytes_per_param"]["value"] is None


# ------------------------------------------------------------------------ real models


def schema_model(path: Path) -> Any:
    return schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)


def weight_shapes(path: Path, op_name: str) -> list[list[int]]:
    """Shapes of input 1 (the weights) of every `op_name` op, read with the object API."""
    m = schema_model(path)
    g = m.subgraphs[0]
    return [
        [int(d) for d in g.tensors[op.inputs[1]].shape]
        for op in g.operators
        if op_name_of(m, op) == op_name
    ]


def op_name_of(m: Any, op: Any) -> str:
    code = m.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    return next(k for k, v in vars(OP).items() if v == builtin)


@pytest.mark.parametrize("name", ["hello_world_int8", "hello_world_float"])
def test_hello_world_by_hand(models_dir: Path, name: str) -> None:
    path = models_dir / f"{name}.tflite"
    # weights [units, input_depth]: 1 -> 16 -> 16 -> 1
    assert weight_shapes(path, "FULLY_CONNECTED") == [[16, 1], [16, 16], [1, 16]]
    facts = model_facts(ModelFile(path))
    assert [op.macs for op in facts.ops] == [1 * 16 * 1, 1 * 16 * 16, 1 * 1 * 16]
    assert facts.macs == 16 + 256 + 16
    weights, biases = 16 * 1 + 16 * 16 + 1 * 16, 16 + 16 + 1
    assert facts.params == weights + biases
    if name == "hello_world_int8":  # int8 weights, int32 biases
        assert facts.param_bytes == weights * 1 + biases * 4
    else:  # float32 everywhere
        assert facts.param_bytes == (weights + biases) * 4
    assert facts.op_histogram == {"FULLY_CONNECTED": 3}
    assert facts.inputs[0].shape == (1, 1) and facts.outputs[0].shape == (1, 1)


def test_kws_ds_cnn_by_hand(models_dir: Path) -> None:
    # input 49x10x1; conv 10x4 stride 2 => 25x5x64; 4 x (dw 3x3 + pw 1x1 64->64); pool; FC 64->12
    path = models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"
    assert weight_shapes(path, "CONV_2D") == [[64, 10, 4, 1]] + [[64, 1, 1, 64]] * 4
    assert weight_shapes(path, "DEPTHWISE_CONV_2D") == [[1, 3, 3, 64]] * 4
    assert weight_shapes(path, "FULLY_CONNECTED") == [[12, 64]]
    facts = model_facts(ModelFile(path))
    assert facts.macs == (
        25 * 5 * 64 * 10 * 4 * 1  # first conv
        + 4 * (25 * 5 * 64 * 3 * 3)  # depthwise
        + 4 * (25 * 5 * 64 * 1 * 1 * 64)  # pointwise
        + 12 * 64  # classifier
    )


def test_ic_resnet8_by_hand(models_dir: Path) -> None:
    path = models_dir / "mlperf_tiny_ic_resnet8_int8.tflite"
    assert weight_shapes(path, "CONV_2D") == [
        [16, 3, 3, 3], [16, 3, 3, 16], [16, 3, 3, 16],
        [32, 3, 3, 16], [32, 3, 3, 32], [32, 1, 1, 16],
        [64, 3, 3, 32], [64, 3, 3, 64], [64, 1, 1, 32],
    ]  # fmt: skip
    facts = model_facts(ModelFile(path))
    assert facts.macs == (
        32 * 32 * 16 * 3 * 3 * 3  # stem, 32x32
        + 2 * (32 * 32 * 16 * 3 * 3 * 16)  # block 1, 32x32
        + 16 * 16 * 32 * 3 * 3 * 16  # block 2 conv a, stride 2 => 16x16
        + 16 * 16 * 32 * 3 * 3 * 32  # block 2 conv b
        + 16 * 16 * 32 * 1 * 1 * 16  # block 2 shortcut 1x1 stride 2
        + 8 * 8 * 64 * 3 * 3 * 32  # block 3 conv a => 8x8
        + 8 * 8 * 64 * 3 * 3 * 64  # block 3 conv b
        + 8 * 8 * 64 * 1 * 1 * 32  # block 3 shortcut
        + 10 * 64  # classifier
    )


def test_ad_autoencoder_by_hand(models_dir: Path) -> None:
    path = models_dir / "mlperf_tiny_ad_autoencoder_int8.tflite"
    layers = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    assert weight_shapes(path, "FULLY_CONNECTED") == [
        [out, inp] for inp, out in itertools.pairwise(layers)
    ]
    facts = model_facts(ModelFile(path))
    assert facts.macs == 640 * 128 + 3 * 128 * 128 + 128 * 8 + 8 * 128 + 3 * 128 * 128 + 128 * 640
    assert facts.params == facts.macs + sum(layers[1:])  # batch 1: weights + biases


def test_recurrent_models_by_hand(models_dir: Path) -> None:
    mnist = model_facts(ModelFile(models_dir / "mnist_lstm_int8.tflite"))
    # 28 steps of 28 inputs, 20 cells, 4 gates; then FC 560 -> 10
    assert mnist.macs == 28 * (4 * 20 * 28 + 4 * 20 * 20) + 10 * 560
    dtln = model_facts(ModelFile(models_dir / "dtln_noise_suppression_int8.tflite"))
    # one frame: LSTM 257 -> 128, LSTM 128 -> 128, FC 128 -> 257 (keep_num_dims)
    assert dtln.macs == (4 * 128 * 257 + 4 * 128 * 128) + (4 * 128 * 128 * 2) + 257 * 128
    kws = model_facts(ModelFile(models_dir / "keyword_scrambled_8bit.tflite"))
    # SVDF weights_feature [F, I], weights_time [F, M]; FCs [16, 64] x4 and [2, 32]
    svdf = 64 * 96 + 64 * 8  # [64, 96], [64, 8]
    svdf += 3 * (64 * 16 + 64 * 8)  # [64, 16], [64, 8]
    svdf += 32 * 16 + 32 * 32  # [32, 16], [32, 32]
    svdf += 2 * (32 * 32 + 32 * 32)  # [32, 32], [32, 32]
    assert kws.macs == svdf + 4 * (16 * 64) + 2 * 32


def uniform_macs(ops: list[tuple[str, int, int]], shapes: dict[int, list[int]]) -> int:
    """One rule for CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: each weight element is
    used once per output position; output positions = output elements / output channels.
    `ops` holds (op name, weights tensor, output tensor)."""
    total = 0
    for name, weights, output in ops:
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            out = shapes[output]
            total += math.prod(shapes[weights]) * math.prod(out) // out[-1]
    return total


def litert_macs(path: Path) -> int:
    """uniform_macs over the graph as LiteRT's own (C++) flatbuffer reader sees it."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    shapes = {t["index"]: [int(d) for d in t["shape"]] for t in interp.get_tensor_details()}
    ops = [
        (op["op_name"], int(op["inputs"][1]) if len(op["inputs"]) > 1 else -1, op["outputs"][0])
        for op in interp._get_ops_details()
    ]
    return uniform_macs(ops, shapes)


def object_api_macs(path: Path) -> int:
    """uniform_macs over the graph unpacked with the schema's object API."""
    m = schema_model(path)
    g = m.subgraphs[0]
    shapes = {i: [int(d) for d in t.shape] for i, t in enumerate(g.tensors)}
    ops = [
        (op_name_of(m, op), int(op.inputs[-1 if len(op.inputs) < 2 else 1]), int(op.outputs[0]))
        for op in g.operators
    ]
    return uniform_macs(ops, shapes)


def stored_constants(path: Path) -> tuple[int, int]:
    """(elements, bytes) of every tensor whose buffer has data, scanning the tensor list."""
    m = schema_model(path)
    elements = nbytes = 0
    for t in m.subgraphs[0].tensors:
        data = m.buffers[t.buffer].data
        if data is not None and len(data) and not t.isVariable:
            elements += math.prod(int(d) for d in t.shape)
            nbytes += len(data)
    return elements, nbytes


CONV_FC_MODELS = [
    "hello_world_int8",
    "hello_world_float",
    "micro_speech_int8",
    "person_detect_int8",
    "mlperf_tiny_kws_ds_cnn_int8",
    "mlperf_tiny_ic_resnet8_int8",
    "mlperf_tiny_vww_mobilenet_int8",
    "mlperf_tiny_ad_autoencoder_int8",
]


@pytest.mark.parametrize("name", CONV_FC_MODELS)
def test_macs_match_uniform_rule(models_dir: Path, name: str) -> None:
    path = models_dir / f"{name}.tflite"
    assert model_facts(ModelFile(path)).macs == object_api_macs(path)


# LiteRT refuses person_detect_int8 (its bias tensors carry quantized_dimension 3).
@pytest.mark.parametrize("name", [n for n in CONV_FC_MODELS if n != "person_detect_int8"])
def test_macs_match_litert_reader(models_dir: Path, name: str) -> None:
    path = models_dir / f"{name}.tflite"
    assert model_facts(ModelFile(path)).macs == litert_macs(path)


def manifest_entries(models_dir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    return {Path(m["file"]).stem: m for m in manifest["models"]}


def test_every_shared_model(models_dir: Path) -> None:
    entries = manifest_entries(models_dir)
    paths = sorted(models_dir.glob("*.tflite"))
    assert {p.stem for p in paths} == set(entries)
    for path in paths:
        facts = model_facts(ModelFile(path))
        assert (facts.params, facts.param_bytes) == stored_constants(path), path.stem
        assert facts.op_histogram == entries[path.stem]["operator_counts"], path.stem
        assert facts.unmodelled_ops == [], path.stem
        assert sum(op.macs for op in facts.ops) == facts.macs > 0

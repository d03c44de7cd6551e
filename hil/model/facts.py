"""Host-side model facts: MACs, parameters and operators of a TFLite model, from the
flatbuffer alone (nothing is run). docs/model_facts.md has the same rules with examples.

MAC conventions (multiply-accumulates per inference, i.e. per `invoke`)
------------------------------------------------------------------------
Shapes are the tensor shapes stored in the model (`Tensor.shape`, NHWC). A shape an
operator's MAC rule needs must be present and static; a missing shape, a -1 or a wrong
rank raises ModelFactsError naming the op. `shape_signature` is not read: the stored
shape is what an interpreter allocates.

- CONV_2D: N*OH*OW*OC*KH*KW*(IC/groups). Filter [OC, KH, KW, IC/groups]; OH, OW, OC from
  the output; groups = IC / filter depth. The stored output size is checked against
  stride, dilation and padding (SAME: ceil(I/S); VALID: ceil((I - (K-1)*D) / S)).
- DEPTHWISE_CONV_2D: N*OH*OW*OC*KH*KW, OC = IC*depth_multiplier (filter [1, KH, KW, OC]).
- FULLY_CONNECTED: batch*units*input_depth. Weights [units, input_depth]; batch = input
  elements / input_depth, which must equal the output's leading elements (with
  keep_num_dims the output keeps the input's leading dims, without it it is [batch, units]).
- TRANSPOSE_CONV: N*IH*IW*IC*KH*KW*OC, the MACs of the scatter form (every input element
  times every filter tap). Weights [OC, KH, KW, IC]; input [N, IH, IW, IC].
- UNIDIRECTIONAL_SEQUENCE_LSTM: T*B*W, where T time steps and B batch come from the input
  ([B, T, I], or [T, B, I] if time_major) and W is the number of weight elements of the
  gate matmuls: input-to-gate [n_cell, n_input] and recurrent-to-gate [n_cell, n_output]
  for each present gate (3 with CIFG, else 4), the peephole vectors [n_cell] if present,
  and the projection [n_output, n_cell] if present. Each such weight element is used in
  exactly one MAC per time step and batch row. So with 4 gates and no peephole or
  projection: T*B*4*n_cell*(n_input + n_output). The elementwise gate and cell-state
  products, biases and layer norm are not counted.
- SVDF: B*F*(I + M): the feature filter (weights_feature [F, I] times the input [B, I])
  plus the time filter (weights_time [F, M] against the [B, F, M] activation state), with
  F = num_units*rank filters and memory size M. The rank reduction (adds only) is not
  counted. One invoke is one time step.
- BATCH_MATMUL: (output elements)*K, K the contracted dimension of the LHS
  (its last dimension, or the one before it if adj_x).
- Every other operator counts 0 MACs: pooling, elementwise arithmetic (ADD, MUL, ...),
  activations, softmax, quantize/dequantize, reshape and other shape operators. Their work
  is real but is not multiply-accumulate work by this definition. The MAC-bearing
  operators this module does not model (e.g. LSTM, RNN, BIDIRECTIONAL_SEQUENCE_LSTM)
  also count 0; their OpFacts.mac_rule says so.

Parameters
----------
A parameter tensor is a non-variable tensor whose buffer holds data (constants: weights,
biases, and also shape and axis operands). Its element count is the product of its stored
shape; its bytes are the bytes of its buffer. An operator "owns" its constant inputs.
Model totals count each buffer once, however many operators or tensors share it, so the
per-op figures can sum to more than the totals. Only models with one subgraph are read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.errors import HilError, ModelFileError
from hil.model.file import SCHEMA_ERRORS, ModelFile
from hil.model.tensor import TensorSpec

MAC_UNIT = "MAC/inference"
SHAPE_UNIT = "elements per dimension"
COUNTER_UNITS = {
    "cycles": "cycle",
    "instructions": "instruction",
    "ticks": "tick",
    "device_timer_us": "us",  # EEMBC m-lap-us: the device's own microsecond timer
}

OP_NAMES: dict[int, str] = {
    value: name
    for name, value in vars(schema.BuiltinOperator).items()
    if not name.startswith("_") and isinstance(value, int)
}
ZERO_MAC_RULE = "0 (no multiply-accumulate work by definition)"
UNMODELLED_MAC_OPS = frozenset(
    {
        "LSTM",
        "RNN",
        "UNIDIRECTIONAL_SEQUENCE_RNN",
        "BIDIRECTIONAL_SEQUENCE_RNN",
        "BIDIRECTIONAL_SEQUENCE_LSTM",
        "CONV_3D",
        "CONV_3D_TRANSPOSE",
        "EMBEDDING_LOOKUP_SPARSE",
    }
)
UNMODELLED_RULE = "0 (MAC-bearing operator not modelled by hil.model.facts)"

# UNIDIRECTIONAL_SEQUENCE_LSTM input slots holding gate-matmul weights:
# 1-4 input-to-gate, 5-8 recurrent-to-gate, 9-11 peephole, 16 projection.
LSTM_WEIGHT_SLOTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16)


class ModelFactsError(ModelFileError):
    """The model's flatbuffer lacks what a fact needs (a static shape, a weight tensor)."""


# ----------------------------------------------------------------------------- results


def _figure(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def _shapes_dict(shapes: tuple[tuple[int, ...] | None, ...]) -> dict[str, Any]:
    return _figure([None if s is None else list(s) for s in shapes], SHAPE_UNIT)


def _spec_dict(spec: TensorSpec) -> dict[str, Any]:
    elements = math.prod(spec.shape) if all(d >= 0 for d in spec.shape) else None
    nbytes = None if elements is None else elements * spec.dtype.itemsize
    return {
        "name": spec.name,
        "dtype": spec.dtype.name,
        "shape": _figure(list(spec.shape), SHAPE_UNIT),
        "elements": _figure(elements, "elements"),
        "bytes": _figure(nbytes, "bytes"),
        "scale": _figure(spec.scale, "real value per quantized step"),
        "zero_point": _figure(spec.zero_point, "quantized steps"),
    }


@dataclass(frozen=True)
class OpFacts:
    """One operator, in execution order."""

    index: int
    op: str
    input_shapes: tuple[tuple[int, ...] | None, ...]  # None: optional input omitted
    output_shapes: tuple[tuple[int, ...] | None, ...]
    macs: int
    mac_rule: str
    params: int
    param_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "op": self.op,
            "input_shapes": _shapes_dict(self.input_shapes),
            "output_shapes": _shapes_dict(self.output_shapes),
            "macs": _figure(self.macs, MAC_UNIT),
            "mac_rule": self.mac_rule,
            "params": _figure(self.params, "elements"),
            "param_bytes": _figure(self.param_bytes, "bytes"),
        }


@dataclass(frozen=True)
class ModelFacts:
    """Totals over a model; `params`/`param_bytes` count each constant buffer once."""

    model: str
    ops: list[OpFacts]
    macs: int
    params: int
    param_bytes: int
    op_histogram: dict[str, int]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    unmodelled_ops: list[str] = field(default_factory=list)

    @property
    def op_count(self) -> int:
        return len(self.ops)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "macs": _figure(self.macs, MAC_UNIT),
            "params": _figure(self.params, "elements"),
            "param_bytes": _figure(self.param_bytes, "bytes"),
            "op_count": _figure(self.op_count, "operators"),
            "op_histogram": _figure(dict(self.op_histogram), "operators"),
            "unmodelled_ops": list(self.unmodelled_ops),
            "inputs": [_spec_dict(s) for s in self.inputs],
            "outputs": [_spec_dict(s) for s in self.outputs],
            "ops": [op.to_dict() for op in self.ops],
        }


# ----------------------------------------------------------------------- graph view


@dataclass(frozen=True)
class _Tensor:
    index: int
    name: str
    shape: tuple[int, ...] | None  # None: the shape field is absent
    buffer: int
    nbytes: int  # bytes of buffer data; 0 for activations and variables
    variable: bool

    @property
    def constant(self) -> bool:
        return self.nbytes > 0 and not self.variable

    @property
    def elements(self) -> int:
        return math.prod(self.shape or ())


@dataclass(frozen=True)
class _Op:
    index: int
    name: str
    inputs: tuple[_Tensor | None, ...]
    outputs: tuple[_Tensor | None, ...]
    options: Any

    def where(self) -> str:
        return f"op {self.index} ({self.name})"

    def tensor(self, slot: int, role: str, outputs: bool = False) -> _Tensor:
        tensors = self.outputs if outputs else self.inputs
        found = tensors[slot] if slot < len(tensors) else None
        if found is None:
            raise ModelFactsError(f"{self.where()}: {role} (slot {slot}) is missing")
        return found

    def shape(
        self, slot: int, role: str, rank: int | None = None, outputs: bool = False
    ) -> tuple[int, ...]:
        """The static shape of an input (or output) the MAC rule needs, or a clear error."""
        t = self.tensor(slot, role, outputs)
        label = f"{self.where()}: {role} tensor {t.index} '{t.name}'"
        if t.shape is None:
            raise ModelFactsError(f"{label} has no stored shape; cannot count MACs")
        if any(d < 0 for d in t.shape):
            raise ModelFactsError(
                f"{label} has dynamic shape {list(t.shape)}; MACs need static shapes"
            )
        if rank is not None and len(t.shape) != rank:
            raise ModelFactsError(f"{label} has shape {list(t.shape)}, expected rank {rank}")
        return t.shape

    def option(self, name: str, default: Any) -> Any:
        return getattr(self.options, name, default) if self.options is not None else default


def _buffer_bytes(buffer: Any) -> int:
    if buffer is None:
        return 0
    if buffer.DataLength() > 0:
        return int(buffer.DataLength())
    # Models over 2 GB keep buffer data after the flatbuffer: offset > 1 marks it.
    return int(buffer.Size()) if buffer.Offset() > 1 else 0


def _read_tensor(model: Any, graph: Any, index: int) -> _Tensor:
    t = graph.Tensors(index)
    shape = None if t.ShapeIsNone() else tuple(int(d) for d in t.ShapeAsNumpy().ravel())
    buffer_index = int(t.Buffer())
    nbytes = _buffer_bytes(model.Buffers(buffer_index)) if buffer_index > 0 else 0
    name = (t.Name() or b"").decode("utf-8", errors="replace")
    return _Tensor(index, name, shape, buffer_index, nbytes, bool(t.IsVariable()))


def _op_name(model: Any, opcode_index: int) -> str:
    code = model.OperatorCodes(opcode_index)
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    return OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def _slots(indices: np.ndarray, tensors: list[_Tensor]) -> tuple[_Tensor | None, ...]:
    return tuple(None if i < 0 else tensors[int(i)] for i in np.atleast_1d(indices))


def _read_ops(model: Any, graph: Any, tensors: list[_Tensor]) -> list[_Op]:
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        options = schema.BuiltinOptionsCreator(op.BuiltinOptionsType(), op.BuiltinOptions())
        ops.append(
            _Op(
                index=i,
                name=_op_name(model, op.OpcodeIndex()),
                inputs=_slots(op.InputsAsNumpy(), tensors) if op.InputsLength() else (),
                outputs=_slots(op.OutputsAsNumpy(), tensors) if op.OutputsLength() else (),
                options=options,
            )
        )
    return ops


def _read_graph(model_file: ModelFile) -> list[_Op]:
    model = model_file._schema_model
    if model.SubgraphsLength() != 1:
        raise ModelFactsError(
            f"{model_file.path}: {model.SubgraphsLength()} subgraphs; model facts read "
            "single-subgraph models only (no control flow)"
        )
    graph = model.Subgraphs(0)
    try:
        tensors = [_read_tensor(model, graph, i) for i in range(graph.TensorsLength())]
        return _read_ops(model, graph, tensors)
    except SCHEMA_ERRORS as exc:  # options tables are read whole; hil.model.check checks
        # their own bounds, not each option's fields
        raise ModelFileError(f"{model_file.path}: malformed TFLite flatbuffer ({exc})") from exc


# ------------------------------------------------------------------------ MAC rules


def _window_out(size: int, kernel: int, stride: int, dilation: int, padding: int) -> int:
    if padding == schema.Padding.SAME:
        return -(-size // stride)
    return -(-(size - (kernel - 1) * dilation) // stride)


def _check_spatial(
    op: _Op, in_hw: tuple[int, int], k_hw: tuple[int, int], out_hw: tuple[int, int]
) -> None:
    strides = (op.option("strideH", 1), op.option("strideW", 1))
    dilations = (op.option("dilationHFactor", 1), op.option("dilationWFactor", 1))
    padding = op.option("padding", schema.Padding.SAME)
    if min(strides) < 1 or min(dilations) < 1:
        raise ModelFactsError(
            f"{op.where()}: stride {list(strides)} and dilation {list(dilations)} must be >= 1"
        )
    expected = tuple(
        _window_out(i, k, s, d, padding)
        for i, k, s, d in zip(in_hw, k_hw, strides, dilations, strict=True)
    )
    if expected != tuple(out_hw):
        pad = "SAME" if padding == schema.Padding.SAME else "VALID"
        raise ModelFactsError(
            f"{op.where()}: stored output size {list(out_hw)} does not match input "
            f"{list(in_hw)}, kernel {list(k_hw)}, stride {list(strides)}, dilation "
            f"{list(dilations)}, padding {pad} (expected {list(expected)})"
        )


def _conv_2d(op: _Op) -> int:
    n, ih, iw, ic = op.shape(0, "input", rank=4)
    oc, kh, kw, fc = op.shape(1, "filter", rank=4)
    on, oh, ow, occ = op.shape(0, "output", rank=4, outputs=True)
    if fc == 0 or ic % fc or occ != oc or on != n:
        raise ModelFactsError(
            f"{op.where()}: input depth {ic}, filter [OC={oc}, {kh}, {kw}, {fc}] and "
            f"output {[on, oh, ow, occ]} are inconsistent"
        )
    _check_spatial(op, (ih, iw), (kh, kw), (oh, ow))
    return n * oh * ow * oc * kh * kw * fc


def _depthwise_conv_2d(op: _Op) -> int:
    n, ih, iw, ic = op.shape(0, "input", rank=4)
    one, kh, kw, oc = op.shape(1, "filter", rank=4)
    on, oh, ow, occ = op.shape(0, "output", rank=4, outputs=True)
    if one != 1 or ic == 0 or oc % ic or occ != oc or on != n:
        raise ModelFactsError(
            f"{op.where()}: input depth {ic}, filter {[one, kh, kw, oc]} and output "
            f"{[on, oh, ow, occ]} are inconsistent (OC must be IC*depth_multiplier)"
        )
    _check_spatial(op, (ih, iw), (kh, kw), (oh, ow))
    return n * oh * ow * oc * kh * kw


def _fully_connected(op: _Op) -> int:
    in_shape = op.shape(0, "input")
    units, depth = op.shape(1, "weights", rank=2)
    out_shape = op.shape(0, "output", outputs=True)
    elements = math.prod(in_shape)
    if depth == 0 or elements % depth:
        raise ModelFactsError(
            f"{op.where()}: input {list(in_shape)} ({elements} elements) is not a whole "
            f"number of rows of input_depth {depth}"
        )
    batch = elements // depth
    keep = bool(op.option("keepNumDims", False))
    leading_ok = tuple(out_shape[:-1]) == tuple(in_shape[:-1]) if keep else True
    if not out_shape or out_shape[-1] != units or math.prod(out_shape) != batch * units:
        leading_ok = False
    if not leading_ok:
        layout = "[input leading dims..., units]" if keep else "[batch, units]"
        raise ModelFactsError(
            f"{op.where()}: output {list(out_shape)} does not match input {list(in_shape)} "
            f"and weights [{units}, {depth}] with keep_num_dims={keep} (expected {layout} "
            f"with batch {batch})"
        )
    return batch * units * depth


def _transpose_conv(op: _Op) -> int:
    oc, kh, kw, fc = op.shape(1, "weights", rank=4)
    n, ih, iw, ic = op.shape(2, "input", rank=4)
    out = op.shape(0, "output", rank=4, outputs=True)
    if fc != ic or out[3] != oc or out[0] != n:
        raise ModelFactsError(
            f"{op.where()}: input {[n, ih, iw, ic]}, weights {[oc, kh, kw, fc]} and "
            f"output {list(out)} are inconsistent"
        )
    return n * ih * iw * ic * kh * kw * oc


def _lstm(op: _Op) -> int:
    a, b, _ = op.shape(0, "input", rank=3)  # [B, T, I] or [T, B, I]: T*B either way
    op.shape(0, "output", rank=3, outputs=True)
    for slot, role in ((2, "input-to-forget weights"), (6, "recurrent-to-forget weights")):
        op.shape(slot, role)
    weights = 0
    for slot in LSTM_WEIGHT_SLOTS:
        if slot < len(op.inputs) and op.inputs[slot] is not None:
            weights += math.prod(op.shape(slot, f"weights (slot {slot})"))
    return a * b * weights


def _svdf(op: _Op) -> int:
    batch, size = op.shape(0, "input", rank=2)
    filters, feature_size = op.shape(1, "weights_feature", rank=2)
    time_filters, memory = op.shape(2, "weights_time", rank=2)
    if feature_size != size or time_filters != filters:
        raise ModelFactsError(
            f"{op.where()}: input [{batch}, {size}], weights_feature [{filters}, "
            f"{feature_size}] and weights_time [{time_filters}, {memory}] are inconsistent"
        )
    return batch * filters * size + batch * filters * memory


def _batch_matmul(op: _Op) -> int:
    lhs = op.shape(0, "lhs")
    out = op.shape(0, "output", outputs=True)
    if len(lhs) < 2 or len(out) < 2:
        raise ModelFactsError(f"{op.where()}: lhs {list(lhs)} and output need rank >= 2")
    k = lhs[-2] if op.option("adjX", False) else lhs[-1]
    return math.prod(out) * k


MacRule = Callable[[_Op], int]
MAC_RULES: dict[str, tuple[MacRule, str]] = {
    "CONV_2D": (_conv_2d, "N*OH*OW*OC*KH*KW*(IC/groups)"),
    "DEPTHWISE_CONV_2D": (_depthwise_conv_2d, "N*OH*OW*OC*KH*KW, OC = IC*depth_multiplier"),
    "FULLY_CONNECTED": (_fully_connected, "batch*units*input_depth"),
    "TRANSPOSE_CONV": (_transpose_conv, "N*IH*IW*IC*KH*KW*OC (scatter form)"),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (_lstm, "T*B*(gate, peephole, projection weights)"),
    "SVDF": (_svdf, "B*F*I (feature filter) + B*F*M (time filter)"),
    "BATCH_MATMUL": (_batch_matmul, "(output elements)*K"),
}


def _macs(op: _Op) -> tuple[int, str]:
    if op.name in MAC_RULES:
        rule, text = MAC_RULES[op.name]
        return rule(op), text
    return 0, UNMODELLED_RULE if op.name in UNMODELLED_MAC_OPS else ZERO_MAC_RULE


# ------------------------------------------------------------------------- assembly


def _constants(op: _Op) -> dict[int, _Tensor]:
    """The op's constant inputs, one entry per buffer."""
    return {t.buffer: t for t in op.inputs if t is not None and t.constant}


def _shapes(tensors: tuple[_Tensor | None, ...]) -> tuple[tuple[int, ...] | None, ...]:
    return tuple(None if t is None else (t.shape or ()) for t in tensors)


def _op_facts(op: _Op) -> OpFacts:
    macs, rule = _macs(op)
    owned = _constants(op).values()
    return OpFacts(
        index=op.index,
        op=op.name,
        input_shapes=_shapes(op.inputs),
        output_shapes=_shapes(op.outputs),
        macs=macs,
        mac_rule=rule,
        params=sum(t.elements for t in owned),
        param_bytes=sum(t.nbytes for t in owned),
    )


def model_facts(model: ModelFile) -> ModelFacts:
    """MACs, parameters and operators of `model`, computed from its flatbuffer."""
    ops = _read_graph(model)
    per_op = [_op_facts(op) for op in ops]
    constants: dict[int, _Tensor] = {}
    for op in ops:
        constants.update(_constants(op))
    return ModelFacts(
        model=model.name,
        ops=per_op,
        macs=sum(f.macs for f in per_op),
        params=sum(t.elements for t in constants.values()),
        param_bytes=sum(t.nbytes for t in constants.values()),
        op_histogram=dict(sorted(Counter(f.op for f in per_op).items())),
        inputs=model.inputs,
        outputs=model.outputs,
        unmodelled_ops=sorted({f.op for f in per_op if f.mac_rule == UNMODELLED_RULE}),
    )


def efficiency(
    facts: ModelFacts, counter_kind: str, counter_value: int, arena_bytes: int
) -> dict[str, Any]:
    """MACs per counted unit (per cycle, per instruction or per tick, named by the counter
    kind: instructions are never called cycles) and arena bytes per parameter."""
    unit = COUNTER_UNITS.get(counter_kind)
    if unit is None:
        raise HilError(
            f"unknown counter kind {counter_kind!r}; expected one of {sorted(COUNTER_UNITS)}"
        )
    if counter_value <= 0:
        raise HilError(f"{counter_kind} count must be positive, got {counter_value}")
    if arena_bytes < 0:
        raise HilError(f"arena size must not be negative, got {arena_bytes}")
    per_param = arena_bytes / facts.params if facts.params else None
    return {
        "model": facts.model,
        "counter": {"kind": counter_kind, "value": counter_value, "unit": counter_kind},
        "macs": _figure(facts.macs, MAC_UNIT),
        f"macs_per_{unit}": _figure(facts.macs / counter_value, f"MAC/{unit}"),
        "arena_bytes": _figure(arena_bytes, "bytes"),
        "params": _figure(facts.params, "elements"),
        "arena_bytes_per_param": _figure(per_param, "arena bytes/parameter"),
    }

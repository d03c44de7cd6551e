"""Build small TFLite models in tests, through the TFLite schema's object API
(shipped in the tflite-micro package), instead of committing binary files."""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TENSOR_TYPES = {
    np.dtype(np.float32): schema.TensorType.FLOAT32,
    np.dtype(np.int32): schema.TensorType.INT32,
    np.dtype(np.int64): schema.TensorType.INT64,
    np.dtype(np.int16): schema.TensorType.INT16,
    np.dtype(np.int8): schema.TensorType.INT8,
    np.dtype(np.uint8): schema.TensorType.UINT8,
    np.dtype(np.bool_): schema.TensorType.BOOL,
}


@dataclass
class ModelBuilder:
    """Tensors and operators of a single-subgraph model, in execution order."""

    tensors: list[schema.TensorT] = field(default_factory=list)
    buffers: list[schema.BufferT] = field(default_factory=lambda: [schema.BufferT()])
    operators: list[schema.OperatorT] = field(default_factory=list)
    opcodes: list[int] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    custom_code: str = ""  # the custom code of a CUSTOM operator, if the model has one

    def tensor(
        self,
        shape: tuple[int, ...],
        dtype: type | np.dtype,
        data: np.ndarray | None = None,
        scale: float | list[float] | None = None,
        zero_point: int | list[int] = 0,
        name: str = "",
        quantized_dimension: int = 0,
    ) -> int:
        t = schema.TensorT()
        t.shape = list(shape)
        t.type = TENSOR_TYPES[np.dtype(dtype)]
        t.name = name or f"t{len(self.tensors)}"
        t.buffer = 0
        if data is not None:
            buf = schema.BufferT()
            buf.data = list(np.ascontiguousarray(data, dtype=dtype).tobytes())
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = list(np.atleast_1d(scale).astype(float))
            q.zeroPoint = list(np.atleast_1d(zero_point).astype(int))
            q.quantizedDimension = quantized_dimension
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def operator(
        self,
        code: int,
        inputs: list[int],
        outputs: list[int],
        options_type: int = 0,
        options: object = None,
    ) -> None:
        if code not in self.opcodes:
            self.opcodes.append(code)
        op = schema.OperatorT()
        op.opcodeIndex = self.opcodes.index(code)
        op.inputs = inputs
        op.outputs = outputs
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self.operators.append(op)

    def build(self) -> bytes:
        graph = schema.SubGraphT()
        graph.tensors = self.tensors
        graph.operators = self.operators
        graph.inputs = self.inputs
        graph.outputs = self.outputs
        model = schema.ModelT()
        model.version = 3
        model.subgraphs = [graph]
        model.buffers = self.buffers
        model.operatorCodes = []
        for code in self.opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            if code == schema.BuiltinOperator.CUSTOM:
                oc.customCode = self.custom_code
            model.operatorCodes.append(oc)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def fully_connected_then(code: int, custom_code: str = "") -> bytes:
    """A float model: FULLY_CONNECTED [1,4] -> [1,3], then the builtin `code`
    (a CUSTOM one named `custom_code`) applied elementwise. Used to check how
    an unsupported operator is refused."""
    b = ModelBuilder(custom_code=custom_code)
    x = b.tensor((1, 4), np.float32, name="x")
    w = b.tensor((3, 4), np.float32, data=np.arange(12, dtype=np.float32) / 10)
    bias = b.tensor((3,), np.float32, data=np.zeros(3, np.float32))
    h = b.tensor((1, 3), np.float32, name="h")
    y = b.tensor((1, 3), np.float32, name="y")
    opts = schema.FullyConnectedOptionsT()
    b.operator(
        schema.BuiltinOperator.FULLY_CONNECTED,
        [x, w, bias],
        [h],
        schema.BuiltinOptions.FullyConnectedOptions,
        opts,
    )
    b.operator(code, [h], [y])
    b.inputs, b.outputs = [x], [y]
    return b.build()

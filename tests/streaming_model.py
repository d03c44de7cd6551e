"""A streaming model of the kind TFLM runs and hil's engine does not: two
subgraphs and a resource variable. CALL_ONCE runs the init subgraph, which
assigns zeros to the variable; each invoke of the main subgraph then adds its
input to the variable and returns the running sum (y_t = x_1 + ... + x_t), so
a reset that misses the resource variable shows at once."""

from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

SHAPE = (1, 4)


def _tensor(name: str, ttype: int, shape: tuple[int, ...], buffer: int = 0) -> schema.TensorT:
    t = schema.TensorT()
    t.name, t.type, t.shape, t.buffer = name, ttype, list(shape), buffer
    return t


def _op(
    opcode: int,
    inputs: list[int],
    outputs: list[int],
    options: object = None,
    options_type: int = 0,
) -> schema.OperatorT:
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode, inputs, outputs
    if options is not None:
        op.builtinOptionsType, op.builtinOptions = options_type, options
    return op


def _var_handle(name: bytes) -> tuple[object, int]:
    opts = schema.VarHandleOptionsT()
    opts.container, opts.sharedName = b"", name
    return opts, schema.BuiltinOptions.VarHandleOptions


def accumulator_model(variable: bytes = b"sum") -> bytes:
    codes = []
    for builtin in (
        schema.BuiltinOperator.CALL_ONCE,
        schema.BuiltinOperator.VAR_HANDLE,
        schema.BuiltinOperator.READ_VARIABLE,
        schema.BuiltinOperator.ADD,
        schema.BuiltinOperator.ASSIGN_VARIABLE,
    ):
        code = schema.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(builtin, 127)
        code.version = 1
        codes.append(code)
    call_once, var_handle, read, add, assign = range(5)
    f32, res = schema.TensorType.FLOAT32, schema.TensorType.RESOURCE

    empty, zeros = schema.BufferT(), schema.BufferT()
    zeros.data = list(np.zeros(SHAPE, np.float32).tobytes())

    main = schema.SubGraphT()
    main.name = "main"
    main.tensors = [
        _tensor("x", f32, SHAPE),
        _tensor("handle", res, ()),
        _tensor("state", f32, SHAPE),
        _tensor("y", f32, SHAPE),
    ]
    once = schema.CallOnceOptionsT()
    once.initSubgraphIndex = 1
    main.operators = [
        _op(call_once, [], [], once, schema.BuiltinOptions.CallOnceOptions),
        _op(var_handle, [], [1], *_var_handle(variable)),
        _op(read, [1], [2]),
        _op(add, [2, 0], [3], schema.AddOptionsT(), schema.BuiltinOptions.AddOptions),
        _op(assign, [1, 3], []),
    ]
    main.inputs, main.outputs = [0], [3]

    init = schema.SubGraphT()
    init.name = "init"
    init.tensors = [_tensor("handle", res, ()), _tensor("zeros", f32, SHAPE, buffer=1)]
    init.operators = [_op(var_handle, [], [0], *_var_handle(variable)), _op(assign, [0, 1], [])]
    init.inputs, init.outputs = [], []

    model = schema.ModelT()
    model.version = 3
    model.description = b"hil test: resource-variable accumulator"
    model.operatorCodes = codes
    model.subgraphs = [main, init]
    model.buffers = [empty, zeros]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())

"""A model file as the host sees it: bytes, identity, and I/O tensor specs."""

from __future__ import annotations

import hashlib
import struct
from functools import cached_property
from pathlib import Path

import numpy as np

from hil.errors import ModelFileError
from hil.model.check import MAX_MODEL_BYTES, CheckedModel, check_model
from hil.model.dtypes import DTYPES
from hil.model.tensor import TensorSpec

TFLITE_IDENTIFIER = b"TFL3"
# The flatbuffers-generated reader's own failures, should one get past check_model.
SCHEMA_ERRORS = (IndexError, ValueError, TypeError, AttributeError, struct.error)


class ModelFile:
    """A .tflite file, validated by hil.model.check before anything else reads it
    (InvalidModelError otherwise). `data` gives the bytes of a model not on disk."""

    def __init__(self, path: str | Path, data: bytes | None = None) -> None:
        self.path = Path(path)
        if data is None:
            try:
                size = self.path.stat().st_size
                if size > MAX_MODEL_BYTES:  # before reading it into memory
                    raise ModelFileError(
                        f"{self.path}: {size:,} bytes is more than {MAX_MODEL_BYTES:,} "
                        "(hil's limit for a model)"
                    )
                data = self.path.read_bytes()
            except FileNotFoundError as exc:
                raise ModelFileError(f"model file {self.path} does not exist") from exc
            except IsADirectoryError as exc:
                raise ModelFileError(f"model file {self.path} is a directory") from exc
            except OSError as exc:
                raise ModelFileError(f"cannot read model file {self.path}: {exc}") from exc
        self.data = data
        self.checked: CheckedModel = check_model(self.data, str(self.path))

    @property
    def name(self) -> str:
        return self.path.stem

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def _schema_model(self):  # type: ignore[no-untyped-def]
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        try:
            model = schema.Model.GetRootAsModel(self.data, 0)
            if model.SubgraphsLength() < 1:
                raise ModelFileError(f"{self.path}: model has no subgraph")
            return model
        except SCHEMA_ERRORS as exc:
            raise ModelFileError(f"{self.path}: malformed TFLite flatbuffer ({exc})") from exc

    def _specs(self, outputs: bool) -> tuple[TensorSpec, ...]:
        model = self._schema_model
        try:
            graph = model.Subgraphs(0)
            indices = graph.OutputsAsNumpy() if outputs else graph.InputsAsNumpy()
            specs = []
            for index in np.atleast_1d(indices):
                tensor = graph.Tensors(int(index))
                code = tensor.Type()
                if code not in DTYPES:
                    raise ModelFileError(f"{self.path}: tensor type code {code} is not supported")
                quant = tensor.Quantization()
                scale, zero_point = 0.0, 0
                if quant is not None and quant.ScaleLength() > 0:
                    scale = float(quant.Scale(0))
                    zero_point = int(quant.ZeroPoint(0)) if quant.ZeroPointLength() else 0
                name = (tensor.Name() or b"").decode("utf-8", errors="replace")
                shape = tuple(int(d) for d in np.atleast_1d(tensor.ShapeAsNumpy()))
                specs.append(TensorSpec(DTYPES[code], shape, scale, zero_point, name))
            return tuple(specs)
        except SCHEMA_ERRORS as exc:
            raise ModelFileError(f"{self.path}: malformed TFLite flatbuffer ({exc})") from exc

    @cached_property
    def has_variables(self) -> bool:
        """Whether the model keeps state across invocations: variable tensors,
        or resource variables (VAR_HANDLE in any subgraph)."""
        try:
            graph = self._schema_model.Subgraphs(0)
            tensors = any(graph.Tensors(i).IsVariable() for i in range(graph.TensorsLength()))
        except SCHEMA_ERRORS as exc:
            raise ModelFileError(f"{self.path}: malformed TFLite flatbuffer ({exc})") from exc
        return tensors or self.has_resource_variables

    def _operator_codes(self) -> list[tuple[int, bytes | None]]:
        """(builtin code, custom code) of every operator of every subgraph."""
        model = self._schema_model
        try:
            codes = [
                model.OperatorCodes(graph.Operators(i).OpcodeIndex())
                for graph in (model.Subgraphs(g) for g in range(model.SubgraphsLength()))
                for i in range(graph.OperatorsLength())
            ]
            return [
                (max(c.BuiltinCode(), c.DeprecatedBuiltinCode()), c.CustomCode()) for c in codes
            ]
        except SCHEMA_ERRORS as exc:
            raise ModelFileError(f"{self.path}: malformed TFLite flatbuffer ({exc})") from exc

    @cached_property
    def has_resource_variables(self) -> bool:
        """Whether any subgraph holds a VAR_HANDLE: state kept by the
        interpreter (TFLM's MicroResourceVariables), not in variable tensors."""
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        return any(code == schema.BuiltinOperator.VAR_HANDLE for code, _ in self._operator_codes())

    @cached_property
    def op_names(self) -> tuple[str, ...]:
        """Builtin operator name of each operator, in execution order."""
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        model = self._schema_model
        try:
            graph = model.Subgraphs(0)
            out = []
            for i in range(graph.OperatorsLength()):
                opcode = model.OperatorCodes(graph.Operators(i).OpcodeIndex())
                code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
                out.append(names.get(code, f"BUILTIN_{code}"))
            return tuple(out)
        except SCHEMA_ERRORS as exc:
            raise ModelFileError(f"{self.path}: malformed TFLite flatbuffer ({exc})") from exc

    @cached_property
    def operator_set(self) -> tuple[str, ...]:
        """The distinct operators of every subgraph, sorted: builtin names
        ("CONV_2D"), and a custom operator as "CUSTOM:<its custom code>"."""
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        found: set[str] = set()
        for code, custom_code in self._operator_codes():
            if code == schema.BuiltinOperator.CUSTOM:
                custom = (custom_code or b"").decode("utf-8", errors="replace")
                found.add(f"CUSTOM:{custom}")
            else:
                found.add(names.get(code, f"BUILTIN_{code}"))
        return tuple(sorted(found))

    @cached_property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self._specs(outputs=False)

    @cached_property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return self._specs(outputs=True)

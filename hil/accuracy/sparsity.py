"""How many of a model's constant values are zero: pruning's visible trace.
A quantized value counts as zero when it equals its tensor's zero point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.errors import ModelFileError
from hil.model.dtypes import DTYPES
from hil.model.file import SCHEMA_ERRORS, ModelFile


@dataclass(frozen=True)
class Sparsity:
    values: int  # constant values (weights and biases), each buffer once
    zeros: int

    @property
    def fraction(self) -> float:
        return self.zeros / self.values if self.values else 0.0


def sparsity(model: ModelFile) -> Sparsity:
    schema_model = model._schema_model
    try:
        seen: set[int] = set()
        values = zeros = 0
        for g in range(schema_model.SubgraphsLength()):
            graph = schema_model.Subgraphs(g)
            for i in range(graph.TensorsLength()):
                t = graph.Tensors(i)
                buf = int(t.Buffer())
                if buf <= 0 or buf in seen or t.IsVariable() or t.Type() not in DTYPES:
                    continue
                data = schema_model.Buffers(buf)
                if data is None or data.DataLength() == 0:
                    continue
                seen.add(buf)
                arr = np.frombuffer(data.DataAsNumpy().tobytes(), dtype=DTYPES[t.Type()])
                quant = t.Quantization()
                has_zp = quant is not None and quant.ZeroPointLength()
                zp = quant.ZeroPointAsNumpy() if has_zp else 0
                zp_arr = np.atleast_1d(zp)
                if zp_arr.size > 1 and arr.size % zp_arr.size == 0:
                    # per-channel: channel is the quantized dimension; zero points
                    # are all zero in TFLite's int8 scheme, so any order will do
                    zp_val = zp_arr[0] if np.all(zp_arr == zp_arr[0]) else None
                else:
                    zp_val = zp_arr[0]
                zeros += int(np.count_nonzero(arr == (zp_val if zp_val is not None else 0)))
                values += arr.size
        return Sparsity(values, zeros)
    except SCHEMA_ERRORS as exc:
        raise ModelFileError(f"{model.path}: malformed TFLite flatbuffer ({exc})") from exc

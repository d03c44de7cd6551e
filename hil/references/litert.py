"""LiteRT (ai-edge-litert, or the older tflite-runtime where that is what is
installed). Its optimised kernels may round differently from TFLM, so it is a
tolerance reference; the reference kernels are the default."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

import numpy as np

from hil.references.base import Reference, ReferenceUnavailable

RESOLVERS = ("ref", "default")

# Schema codes (tflite schema: BuiltinOperator.SVDF, TensorType.INT8).
_SVDF, _INT8 = 27, 9


def _unsafe_for_litert(model: bytes) -> str | None:
    """Why LiteRT must not be given this model, or None. LiteRT's integer
    SVDF reads and writes weights_time and the activation state as int16
    whatever their type, so TFLM's int8-state variant (e.g. TFLM's
    keyword_scrambled model) overruns its buffers and corrupts the host
    process's heap: refused before LiteRT sees it."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        root = schema.Model.GetRootAsModel(model, 0)
        for g in range(root.SubgraphsLength()):
            graph = root.Subgraphs(g)
            for i in range(graph.OperatorsLength()):
                op = graph.Operators(i)
                opcode = root.OperatorCodes(op.OpcodeIndex())
                if max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode()) != _SVDF:
                    continue
                if op.InputsLength() < 5:
                    continue
                types = [
                    graph.Tensors(int(op.Inputs(k))).Type() if op.Inputs(k) >= 0 else None
                    for k in (0, 2, 4)
                ]
                if types[0] == _INT8 and _INT8 in types[1:]:
                    return (
                        f"SVDF (op index {i}) has int8 weights_time/state; LiteRT's integer "
                        "SVDF handles only int16 ones and would overrun their buffers"
                    )
    except (IndexError, ValueError, TypeError, AttributeError):
        return None  # malformed: LiteRT's own checks say why
    return None


def _import_interpreter() -> tuple[object, str]:
    try:
        from ai_edge_litert import interpreter

        return interpreter, f"ai-edge-litert {metadata.version('ai-edge-litert')}"
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter  # type: ignore[import-not-found]

        return interpreter, f"tflite-runtime {metadata.version('tflite-runtime')}"
    except ImportError as exc:
        raise ReferenceUnavailable(
            "neither ai-edge-litert nor tflite-runtime is installed"
        ) from exc


class LiteRtReference(Reference):
    name = "litert"
    agreement = "tolerance"

    def __init__(self, model: bytes, resolver: str = "ref") -> None:
        if resolver not in RESOLVERS:
            raise ValueError(f"unknown LiteRT resolver {resolver!r} (known: {RESOLVERS})")
        module, self._version = _import_interpreter()
        self.resolver = resolver
        unsafe = _unsafe_for_litert(model)
        if unsafe is not None:
            raise ReferenceUnavailable(f"not given to LiteRT: {unsafe}")
        kwargs: dict[str, object] = {"model_content": model, "num_threads": 1}
        if resolver == "ref":
            op_type = module.OpResolverType.BUILTIN_REF  # type: ignore[attr-defined]
            kwargs["experimental_op_resolver_type"] = op_type
        try:
            self._interp = module.Interpreter(**kwargs)  # type: ignore[attr-defined]
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()
            raise ReferenceUnavailable(
                f"LiteRT refused the model: {reason[0] if reason else exc}"
            ) from exc
        self._inputs = self._interp.get_input_details()
        self._outputs = self._interp.get_output_details()
        # Some kernels refuse a model only when first invoked (LiteRT's
        # integer SVDF wants a RELU activation): one trial run on zeros, so
        # such a refusal reads as "unavailable", then the state is reset.
        try:
            for detail in self._inputs:
                zeros = np.zeros(detail["shape"], dtype=detail["dtype"])
                self._interp.set_tensor(detail["index"], zeros)
            self._interp.invoke()
        except (ValueError, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()
            raise ReferenceUnavailable(
                f"LiteRT refused the model when invoked: {reason[0] if reason else exc}"
            ) from exc
        self._interp.reset_all_variables()

    @property
    def version(self) -> str:
        return f"{self._version} ({'reference' if self.resolver == 'ref' else 'default'} kernels)"

    def reset(self) -> None:
        self._interp.reset_all_variables()

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        for detail, data in zip(self._inputs, inputs, strict=True):
            self._interp.set_tensor(detail["index"], data)
        self._interp.invoke()
        return [np.array(self._interp.get_tensor(d["index"]), copy=True) for d in self._outputs]

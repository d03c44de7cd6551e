"""LiteRT (ai-edge-litert, or the older tflite-runtime where that is what is
installed). Its optimised kernels may round differently from TFLM, so it is a
tolerance reference; the reference kernels are the default."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

import numpy as np

from hil.references.base import Reference, ReferenceUnavailable

RESOLVERS = ("ref", "default")


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

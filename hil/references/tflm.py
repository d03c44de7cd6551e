"""TFLM's host interpreter (the `tflite-micro` package): TFLM's own reference
kernels, so the device must agree with it bit for bit."""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from hil.references.base import Reference, ReferenceUnavailable

# The host arena is not what is being measured; make it roomy.
ARENA_FLOOR = 1 << 20


class TflmReference(Reference):
    name = "tflm"
    agreement = "exact"

    def __init__(self, model: bytes, n_outputs: int) -> None:
        self._n_outputs = n_outputs
        try:
            from tflite_micro.python.tflite_micro import _version, runtime
        except ImportError as exc:
            raise ReferenceUnavailable(f"tflite-micro is not installed ({exc})") from exc
        self._version = getattr(_version, "__version__", "unknown")
        try:
            self._interp = runtime.Interpreter.from_bytes(
                model, arena_size=max(ARENA_FLOOR, 4 * len(model))
            )
        except Exception as exc:  # the binding raises bare RuntimeError/ValueError
            raise ReferenceUnavailable(f"TFLM host interpreter refused the model: {exc}") from exc

    @property
    def version(self) -> str:
        return f"tflite-micro {self._version}"

    def arena_used_bytes(self) -> int | None:
        """TFLM's own arena use for this model ("Arena allocation total" of its
        recording allocator, on this 64-bit host), after at least one run. The
        binding only prints it, from C (to stderr), so both output descriptors
        are captured around the call."""
        libc = ctypes.CDLL(None)
        sys.stdout.flush()
        sys.stderr.flush()
        with tempfile.TemporaryFile() as tmp:
            saved = {fd: os.dup(fd) for fd in (1, 2)}
            try:
                for fd in saved:
                    os.dup2(tmp.fileno(), fd)
                self._interp.print_allocations()
                libc.fflush(None)
            finally:
                for fd, copy in saved.items():
                    os.dup2(copy, fd)
                    os.close(copy)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")
        match = re.search(r"Arena allocation total (\d+) bytes", text)
        return int(match.group(1)) if match else None

    def reset(self) -> None:
        self._interp.reset()

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        for i, data in enumerate(inputs):
            self._interp.set_input(data, i)
        self._interp.invoke()
        return [np.array(self._interp.get_output(i), copy=True) for i in range(self._n_outputs)]

"""hil's own C engine, run on the host through ctypes.

The same C sources that go into the firmware (firmware/common, engine and
kernels) plus the host shim firmware/host/hil_host.c are compiled with the
host `cc` into a shared library, cached by content under
`<cache>/host/<sha256>/libhilengine.so`, so an unchanged engine is never
rebuilt and a changed one never goes stale.

Sanitizer builds (`sanitize=True` or HIL_SANITIZE=1) add
-fsanitize=address,undefined. ctypes can only load them when libasan is
preloaded: run such code in a subprocess with `asan_env()`.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

from hil.errors import BuildError, HilError, Status, ToolMissingError
from hil.model.dtypes import TFLITE_DTYPES as DTYPES
from hil.model.tensor import TensorSpec
from hil.paths import cache_dir, firmware_dir

CC = os.environ.get("CC", "cc")
CFLAGS = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-ffp-contract=off")
SANITIZE_FLAGS = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",  # any UB aborts, so a test cannot miss it
    "-fno-omit-frame-pointer",
    "-g",
)
SOURCE_DIRS = ("common", "engine", "kernels")
HOST_SOURCE = Path("host") / "hil_host.c"
HASHED_DIRS = ("include", "common", "engine", "kernels", "host")
LIB_NAME = "libhilengine.so"
HOST_ABI = 1
MAX_RANK = 6


class EngineError(HilError):
    """The engine refused a request: carries the device status code and text."""

    def __init__(self, status: int, message: str) -> None:
        self.status = int(status)
        self.message = message
        try:
            name = Status(self.status).name
        except ValueError:
            name = f"status {self.status}"
        super().__init__(f"{name}: {message}")


class _TensorInfo(ctypes.Structure):
    """Mirror of hil_tensor_info (firmware/include/hil/engine.h)."""

    _fields_ = [
        ("dtype", ctypes.c_uint8),
        ("rank", ctypes.c_uint8),
        ("dims", ctypes.c_int32 * MAX_RANK),
        ("bytes", ctypes.c_uint32),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
    ]


def _want_sanitize(sanitize: bool | None) -> bool:
    return os.environ.get("HIL_SANITIZE") == "1" if sanitize is None else sanitize


@functools.cache
def _cc_version(cc: str) -> str:
    if shutil.which(cc) is None:
        raise ToolMissingError(f"host C compiler {cc!r} not found; install gcc or set CC")
    out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0] if out.stdout else cc


def sources() -> list[Path]:
    """The C files that make up the host library, in build order."""
    root = firmware_dir()
    found = [p for d in SOURCE_DIRS for p in sorted((root / d).glob("*.c"))]
    return [*found, root / HOST_SOURCE]


def compile_flags(sanitize: bool) -> list[str]:
    root = firmware_dir()
    flags = [*CFLAGS, *(SANITIZE_FLAGS if sanitize else ())]
    return [*flags, f"-I{root / 'include'}", f"-I{root}"]


def _digest(cc: str, flags: list[str]) -> str:
    root = firmware_dir()
    h = hashlib.sha256()
    h.update(_cc_version(cc).encode())
    h.update(repr((cc, flags)).encode())
    for d in HASHED_DIRS:
        for path in sorted((root / d).rglob("*")):
            if path.suffix in (".c", ".h") and path.is_file():
                h.update(path.relative_to(root).as_posix().encode() + b"\0")
                h.update(path.read_bytes())
    return h.hexdigest()


def build_library(sanitize: bool | None = None, cc: str = CC) -> Path:
    """Return the cached shared library, compiling it first if needed."""
    flags = compile_flags(_want_sanitize(sanitize))
    out_dir = cache_dir() / "host" / _digest(cc, flags)
    lib = out_dir / LIB_NAME
    if lib.is_file():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    # Compile beside the cache entry and rename into place: parallel workers
    # never load a half-written library.
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=".build-", suffix=".so")
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = [cc, *flags, "-shared", *map(str, sources()), "-lm", "-o", str(tmp)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"host engine build failed:\n{' '.join(cmd)}\n{result.stderr.strip()}")
        os.replace(tmp, lib)
    finally:
        tmp.unlink(missing_ok=True)
    return lib


def asan_runtime(cc: str = CC) -> Path:
    """Path of the compiler's libasan, which must be preloaded for ASan builds."""
    out = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    )
    path = Path(out.stdout.strip())
    if not path.is_absolute() or not path.exists():
        raise ToolMissingError(f"{cc} has no libasan.so (install libasan for AddressSanitizer)")
    return path.resolve()


def asan_env(base: dict[str, str] | None = None, cc: str = CC) -> dict[str, str]:
    """Environment for a subprocess that loads a sanitizer build via ctypes."""
    env = dict(os.environ if base is None else base)
    env["LD_PRELOAD"] = str(asan_runtime(cc))
    # Python itself "leaks" at exit; only memory errors in the engine matter here.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["HIL_SANITIZE"] = "1"
    return env


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    c = ctypes
    sig: dict[str, tuple[object, list[object]]] = {
        "hil_host_abi": (c.c_uint32, []),
        "hil_host_info_size": (c.c_uint32, []),
        "hil_host_create": (c.c_void_p, [c.c_uint32]),
        "hil_host_destroy": (None, [c.c_void_p]),
        "hil_host_load": (c.c_int32, [c.c_void_p, c.c_char_p, c.c_uint32]),
        "hil_host_unload": (None, [c.c_void_p]),
        "hil_host_loaded": (c.c_int32, [c.c_void_p]),
        "hil_host_count": (c.c_uint32, [c.c_void_p, c.c_int32]),
        "hil_host_tensor_info": (
            c.c_int32,
            [c.c_void_p, c.c_int32, c.c_uint32, c.POINTER(_TensorInfo)],
        ),
        "hil_host_set_input": (c.c_int32, [c.c_void_p, c.c_uint32, c.c_void_p, c.c_uint32]),
        "hil_host_get_output": (c.c_int32, [c.c_void_p, c.c_uint32, c.c_void_p, c.c_uint32]),
        "hil_host_invoke": (c.c_int32, [c.c_void_p]),
        "hil_host_reset_variables": (c.c_int32, [c.c_void_p]),
        "hil_host_arena_used": (c.c_uint32, [c.c_void_p]),
        "hil_host_arena_bytes": (c.c_uint32, [c.c_void_p]),
        "hil_host_last_error": (c.c_char_p, [c.c_void_p]),
        "hil_host_quantize_multiplier": (
            None,
            [c.c_double, c.POINTER(c.c_int32), c.POINTER(c.c_int32)],
        ),
        "hil_host_multiply_by_quantized_multiplier": (
            c.c_int32,
            [c.c_int32, c.c_int32, c.c_int32],
        ),
        "hil_host_qmul_from_scales": (
            c.c_int32,
            [
                c.c_float,
                c.c_float,
                c.c_float,
                c.c_int32,
                c.POINTER(c.c_int32),
                c.POINTER(c.c_int32),
            ],
        ),
        "hil_host_bias_scale_compare": (
            c.c_uint32,
            [c.c_void_p, c.c_void_p, c.c_void_p, c.c_void_p, c.c_uint32, c.POINTER(c.c_uint32)],
        ),
        "hil_host_qmul_compare": (
            c.c_uint32,
            [c.c_void_p, c.c_void_p, c.c_void_p, c.c_uint32, c.c_int32, c.POINTER(c.c_uint32)],
        ),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    if lib.hil_host_abi() != HOST_ABI or lib.hil_host_info_size() != ctypes.sizeof(_TensorInfo):
        raise HilError("libhilengine does not match engine_host.py (ABI or struct layout)")
    return lib


@functools.cache
def load_library(sanitize: bool | None = None) -> ctypes.CDLL:
    """Build (if needed) and load the engine library once per process."""
    want = _want_sanitize(sanitize)
    path = build_library(want)
    try:
        return _bind(ctypes.CDLL(str(path)))
    except OSError as exc:
        if want:
            raise HilError(
                f"cannot load the ASan build {path}: {exc}. Run it in a subprocess "
                "with LD_PRELOAD set (see hil.devtools.engine_host.asan_env())"
            ) from exc
        raise


def quantize_multiplier(m: float, sanitize: bool | None = None) -> tuple[int, int]:
    """The engine's QuantizeMultiplier: (Q31 multiplier, shift) for m >= 0."""
    lib = load_library(_want_sanitize(sanitize))
    mult, shift = ctypes.c_int32(), ctypes.c_int32()
    lib.hil_host_quantize_multiplier(m, ctypes.byref(mult), ctypes.byref(shift))
    return mult.value, shift.value


def multiply_by_quantized_multiplier(
    x: int, multiplier: int, shift: int, sanitize: bool | None = None
) -> int:
    """The engine's MultiplyByQuantizedMultiplier (TFLM's double-rounding form)."""
    lib = load_library(_want_sanitize(sanitize))
    return int(lib.hil_host_multiply_by_quantized_multiplier(x, multiplier, shift))


def qmul_from_scales(
    a: float, b: float, c: float, exp2: int = 0, sanitize: bool | None = None
) -> tuple[int, int] | None:
    """The engine's integer multiplier for (double)a*(double)b/(double)c*2^exp2
    (float32 scales): (multiplier, shift), or None when a kernel would refuse it."""
    lib = load_library(_want_sanitize(sanitize))
    mult, shift = ctypes.c_int32(), ctypes.c_int32()
    ok = lib.hil_host_qmul_from_scales(a, b, c, exp2, ctypes.byref(mult), ctypes.byref(shift))
    return (mult.value, shift.value) if ok else None


def qmul_compare(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, exp2: int = 0, sanitize: bool | None = None
) -> tuple[int, int]:
    """Run the integer and the double multiplier paths over float32 triples in
    C: (number that differ, first differing index or len(a))."""
    lib = load_library(_want_sanitize(sanitize))
    arrays = [np.ascontiguousarray(v, dtype=np.float32) for v in (a, b, c)]
    n = len(arrays[0])
    if any(len(v) != n for v in arrays):
        raise ValueError("a, b and c must have the same length")
    first = ctypes.c_uint32()
    bad = lib.hil_host_qmul_compare(*(v.ctypes.data for v in arrays), n, exp2, ctypes.byref(first))
    return int(bad), int(first.value)


def bias_scale_compare(
    a: np.ndarray, b: np.ndarray, bias: np.ndarray, c: np.ndarray, sanitize: bool | None = None
) -> tuple[int, int]:
    """hil_bias_scale_ok (float fast path) against its double definition over
    float32 quadruples: (number that differ, first differing index or len(a))."""
    lib = load_library(_want_sanitize(sanitize))
    arrays = [np.ascontiguousarray(v, dtype=np.float32) for v in (a, b, bias, c)]
    n = len(arrays[0])
    if any(len(v) != n for v in arrays):
        raise ValueError("arrays must have the same length")
    first = ctypes.c_uint32()
    bad = lib.hil_host_bias_scale_compare(*(v.ctypes.data for v in arrays), n, ctypes.byref(first))
    return int(bad), int(first.value)


class HostEngine:
    """One hil engine context on the host: load a model, set inputs, invoke.

    Every refusal raises EngineError with the status and text the device
    would send for the same model and request."""

    def __init__(
        self,
        model: bytes | None = None,
        arena_bytes: int = 64 * 1024,
        *,
        sanitize: bool | None = None,
    ) -> None:
        if not 16 <= arena_bytes <= 0xFFFFFFFF:
            raise ValueError(f"arena_bytes must be in [16, 2**32), got {arena_bytes}")
        self._lib = load_library(_want_sanitize(sanitize))
        self._ctx: int | None = self._lib.hil_host_create(arena_bytes)
        if not self._ctx:
            raise MemoryError(f"cannot allocate a {arena_bytes}-byte arena")
        self._inputs: tuple[TensorSpec, ...] = ()
        self._outputs: tuple[TensorSpec, ...] = ()
        if model is not None:
            self.load(model)

    # -- lifetime ----------------------------------------------------------
    def close(self) -> None:
        ctx = getattr(self, "_ctx", None)  # None too if __init__ failed early
        if ctx:
            self._lib.hil_host_destroy(ctx)
        self._ctx = None

    def __enter__(self) -> HostEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _handle(self) -> int:
        if not self._ctx:
            raise EngineError(Status.STATE, "engine is closed")
        return self._ctx

    def _check(self, status: int) -> None:
        if status != Status.OK:
            text = self._lib.hil_host_last_error(self._handle()) or b""
            raise EngineError(status, text.decode("utf-8", "replace"))

    # -- model ---------------------------------------------------------------
    def load(self, model: bytes | bytearray | memoryview) -> None:
        """Load a TFLite flatbuffer (copied; the caller's buffer is not kept)."""
        data = bytes(model)
        self._inputs = self._outputs = ()
        self._check(self._lib.hil_host_load(self._handle(), data, len(data)))
        self._inputs = self._specs(is_output=False)
        self._outputs = self._specs(is_output=True)

    def unload(self) -> None:
        self._lib.hil_host_unload(self._handle())
        self._inputs = self._outputs = ()

    @property
    def loaded(self) -> bool:
        return bool(self._lib.hil_host_loaded(self._handle()))

    def _specs(self, is_output: bool) -> tuple[TensorSpec, ...]:
        ctx = self._handle()
        specs = []
        for i in range(self._lib.hil_host_count(ctx, int(is_output))):
            info = _TensorInfo()
            self._check(self._lib.hil_host_tensor_info(ctx, int(is_output), i, ctypes.byref(info)))
            if info.dtype not in DTYPES:
                raise EngineError(Status.UNSUPPORTED, f"tensor type {info.dtype} has no numpy type")
            specs.append(
                TensorSpec(
                    dtype=DTYPES[info.dtype],
                    shape=tuple(int(d) for d in info.dims[: info.rank]),
                    scale=float(info.scale),
                    zero_point=int(info.zero_point),
                    nbytes=int(info.bytes),
                )
            )
        return tuple(specs)

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self._inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return self._outputs

    # -- running -------------------------------------------------------------
    @staticmethod
    def _spec(specs: tuple[TensorSpec, ...], index: int, what: str) -> TensorSpec:
        if not specs:
            raise EngineError(Status.STATE, "no model loaded")
        if not 0 <= index < len(specs):
            raise EngineError(
                Status.BAD_REQUEST, f"{what} index {index} out of range ({len(specs)})"
            )
        return specs[index]

    def set_input(self, index: int, value: np.ndarray) -> None:
        """Copy `value` into input `index`; dtype and shape must match exactly."""
        spec = self._spec(self._inputs, index, "input")
        arr = np.asarray(value)
        if arr.dtype != spec.dtype:
            raise EngineError(
                Status.TENSOR, f"input {index} is {spec.dtype}, got {arr.dtype} (no implicit cast)"
            )
        if arr.shape != spec.shape:
            raise EngineError(
                Status.TENSOR, f"input {index} has shape {spec.shape}, got {arr.shape}"
            )
        buf = np.ascontiguousarray(arr)
        self._check(
            self._lib.hil_host_set_input(self._handle(), index, buf.ctypes.data, buf.nbytes)
        )

    def invoke(self) -> None:
        self._check(self._lib.hil_host_invoke(self._handle()))

    def get_output(self, index: int) -> np.ndarray:
        """A copy of output `index`, with the model's dtype and shape."""
        spec = self._spec(self._outputs, index, "output")
        out = np.empty(spec.shape, dtype=spec.dtype)
        self._check(
            self._lib.hil_host_get_output(self._handle(), index, out.ctypes.data, out.nbytes)
        )
        return out

    def reset_variables(self) -> None:
        """Zero the model's variable (state) tensors."""
        self._check(self._lib.hil_host_reset_variables(self._handle()))

    @property
    def arena_used(self) -> int:
        """Bytes of the arena the loaded model uses: activations plus engine state."""
        return int(self._lib.hil_host_arena_used(self._handle()))

    @property
    def arena_bytes(self) -> int:
        """Usable arena size (the requested size, aligned down to 16 bytes)."""
        return int(self._lib.hil_host_arena_bytes(self._handle()))

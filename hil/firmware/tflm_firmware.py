"""Link hil's agent and a port with TFLite Micro instead of hil's interpreter.

The C side (agent, port, app) is compiled exactly as for hil's engine; the
adapter firmware/tflm/tflm_engine.cc implements hil/engine.h on
tflite::MicroInterpreter and is compiled with the flags TFLM itself was built
with; the op resolver (hil.firmware.tflm_resolver: every builtin, or only a
model's operators) is compiled once per op set; the cached TFLM library
(hil.firmware.tflm_build) is linked last."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hil.errors import BuildError
from hil.firmware.tflm_build import CXX_FLAGS, TflmLibrary
from hil.firmware.tflm_resolver import ops_key, resolver_methods, resolver_source
from hil.firmware.toolchain import GXX
from hil.paths import cache_dir

# Engine name -> TFLM kernel library (None: hil's own interpreter).
ENGINES: dict[str, str | None] = {"hil": None, "tflm": "reference", "tflm-cmsis-nn": "cmsis-nn"}
ADAPTER_FLAGS = ("-O2", "-g", "-Wall", "-Wextra", "-Werror")


def check_engine(engine: str) -> str | None:
    """The TFLM kernel library of ENGINE (None for hil's), or a BuildError."""
    if engine not in ENGINES:
        raise BuildError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    return ENGINES[engine]


def _isystem(includes: Sequence[str]) -> list[str]:
    """TFLM's include folders as system folders: its headers are not hil's to
    hold to -Werror."""
    out: list[str] = []
    for flag in includes:
        out += ["-isystem", flag.removeprefix("-I")]
    return out


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stderr.strip()}")


def _adapter_command(firmware: Path, library: TflmLibrary) -> list[str]:
    """g++ with the flags TFLM was built with, for hil's C++ against it."""
    flags = [f for f in library.flags if not f.startswith("-I")]
    return [
        GXX,
        *flags,
        *CXX_FLAGS,
        *ADAPTER_FLAGS,
        f"-I{firmware / 'include'}",
        f"-I{firmware}",
        *_isystem(library.includes),
    ]


def resolver_object(
    firmware: Path, library: TflmLibrary, ops: tuple[str, ...] | None
) -> Path:
    """The compiled resolver for OPS (None: every builtin), cached by the
    library, a hash of the op set and of what else the object depends on (the
    generated source, its header, the compile command), so images of one op
    set share it."""
    source = resolver_source(resolver_methods(library.tree), ops)
    cmd = _adapter_command(firmware, library)
    header = (firmware / "tflm" / "tflm_resolver.h").read_bytes()
    inputs = hashlib.sha256(repr((source, header, cmd)).encode()).hexdigest()[:16]
    name = f"{library.archive.parent.name}-{ops_key(ops)}-{inputs}"
    folder = cache_dir() / "tflm" / "resolver" / name
    obj = folder / "tflm_resolver.o"
    if obj.is_file():
        return obj
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".build-"))
    try:
        (tmp / "tflm_resolver.cc").write_text(source)
        _run([*cmd, "-c", str(tmp / "tflm_resolver.cc"), "-o", str(tmp / "tflm_resolver.o")],
             "TFLM op resolver build")  # fmt: skip
        os.replace(tmp / "tflm_resolver.cc", folder / "tflm_resolver.cc")
        os.replace(tmp / "tflm_resolver.o", obj)
    finally:
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
    return obj


def link_image(
    *,
    firmware: Path,
    library: TflmLibrary,
    board_cflags: Sequence[str],
    c_command: Sequence[str],
    c_sources: Sequence[Path],
    link_flags: Sequence[str],
    elf: Path,
    ops: tuple[str, ...] | None = None,
) -> None:
    """Compile the C sources with C_COMMAND (the compiler and all its flags),
    the adapter with TFLM's flags, and link them, the resolver for OPS (None:
    every builtin) and LIBRARY into ELF."""
    out = elf.parent
    objects = out / "obj"
    objects.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(c_sources):  # numbered: two ports may share a file name
        obj = objects / f"{i:03d}_{source.stem}.o"
        _run([*c_command, "-c", str(source), "-o", str(obj)], f"firmware build ({source.name})")
    adapter = objects / "tflm_engine.o"
    defines = (
        f'-DHIL_TFLM_REVISION="{library.revision}"',
        f'-DHIL_TFLM_KERNELS="{library.kernels}"',
        f'-DHIL_TFLM_BUILD="{library.build}"',
        f'-DHIL_TFLM_OPS="{"all" if ops is None else "model"}"',
    )
    source = firmware / "tflm" / "tflm_engine.cc"
    cmd = _adapter_command(firmware, library)
    _run([*cmd, *defines, "-c", str(source), "-o", str(adapter)], "TFLM adapter build")
    _run(
        [
            GXX,
            *board_cflags,
            *sorted(map(str, objects.glob("*.o"))),
            str(resolver_object(firmware, library, ops)),
            str(library.archive),
            *link_flags,
            "-o",
            str(elf),
        ],
        "firmware link with TFLM",
    )

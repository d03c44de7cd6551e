"""Compile TFLite Micro (framework, kernels, and CMSIS-NN where selected) into
static libraries, one per (core flags, kernel library, flags), cached under
hil's cache directory and shared by every case and xdist worker.

The source lists come from the tree itself (TFLM's sources.inc and the
CMSIS-NN source folder), so a checkout at another revision builds its own
files; the flags are those of TFLM's cortex_m_generic target at its default
build type: framework at -Os, kernels and CMSIS-NN at -O2. TFLM's Makefile is
never run (it downloads)."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hil import progress
from hil.errors import BuildError
from hil.firmware.tflm_tree import DOWNLOADS as TFLM_DOWNLOADS
from hil.firmware.tflm_tree import tflm_tree
from hil.firmware.toolchain import AR, CXX_PACKAGES, GCC, GXX, compiler_version
from hil.paths import cache_dir

KERNEL_LIBRARIES = ("reference", "cmsis-nn")
JOBS = 2  # the build machine has two cores shared with others

# TFLM's Makefile COMMON_FLAGS, CXXFLAGS/CCFLAGS and cortex_m_generic
# PLATFORM_FLAGS (without dependency files and warnings).
COMMON_FLAGS = (
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",
    "-fmessage-length=0",
    "-DTF_LITE_STATIC_MEMORY",
    "-DTF_LITE_DISABLE_X86_NEON",
    "-DKERNELS_OPTIMIZED_FOR_SPEED",
    "-DTF_LITE_MCU_DEBUG_LOG",
    "-mlittle-endian",
    "-fomit-frame-pointer",
    "-funsigned-char",
)
CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics")
C_FLAGS = ("-std=c17",)
# TFLM's BUILD_TYPEs: "default" keeps every TFLITE_DCHECK (each tensor index
# checked inside the reference kernels' inner loops, about 4.6x the
# instructions of KWS on the M4); teams ship with NDEBUG. hil's default is
# release_with_logs: NDEBUG, and TFLM's error messages kept for hil's reports.
BUILD_TYPES = {
    "release_with_logs": ("-DNDEBUG",),
    "release": ("-DNDEBUG", "-DTF_LITE_STRIP_ERROR_STRINGS"),
    "default": (),
}
BUILD_TYPE_ENV = "HIL_TFLM_BUILD_TYPE"
DEFAULT_BUILD_TYPE = "release_with_logs"
CORE_OPT = "-Os"  # TFLM's CORE_OPTIMIZATION_LEVEL (gcc)
KERNEL_OPT = "-O2"  # KERNEL_ and THIRD_PARTY_KERNEL_OPTIMIZATION_LEVEL
CMSIS_NN_DEFINES = ("-DCMSIS_NN", "-DARM_NN_ENABLE_F16=0", "-DARM_NN_ENABLE_F32=0")
# The CMSIS device header each core's TFLM build names (ARMC<CORE>).
CORE_NAMES = {
    "cortex-m0": "M0",
    "cortex-m0plus": "M0plus",
    "cortex-m3": "M3",
    "cortex-m4": "M4",
    "cortex-m7": "M7",
    "cortex-m33": "M33",
    "cortex-m55": "M55",
    "cortex-m85": "M85",
}
# Folders whose files the build reads; their listing and mtimes key the cache.
TREE_PARTS = (
    "tensorflow/lite",
    "tensorflow/compiler",
    f"{TFLM_DOWNLOADS}/flatbuffers/include",
    f"{TFLM_DOWNLOADS}/gemmlowp",
    f"{TFLM_DOWNLOADS}/ruy",
    f"{TFLM_DOWNLOADS}/cmsis/CMSIS/Core/Include",
    f"{TFLM_DOWNLOADS}/cmsis/Cortex_DFP/Device",
    f"{TFLM_DOWNLOADS}/cmsis_nn",
)


@dataclass(frozen=True)
class TflmLibrary:
    archive: Path
    tree: Path
    revision: str  # a digest of the tree's files (no git metadata in an export)
    kernels: str
    includes: tuple[str, ...]
    flags: tuple[str, ...]  # the C++ flags TFLM was compiled with, for the adapter
    seconds: float  # build time; 0 when taken from the cache
    build: str = ""  # build type and optimisation levels, e.g. "release_with_logs -Os/-O2"


def core_name(cpu_flags: Sequence[str]) -> str:
    for flag in cpu_flags:
        if flag.startswith("-mcpu="):
            base = flag.removeprefix("-mcpu=").split("+")[0]
            if base in CORE_NAMES:
                return CORE_NAMES[base]
    raise BuildError(
        f"TFLM build: no supported -mcpu in board flags {' '.join(cpu_flags)} "
        f"(supported: {', '.join(CORE_NAMES)})"
    )


def includes(tree: Path, core: str) -> tuple[str, ...]:
    dl = tree / TFLM_DOWNLOADS
    dirs = [
        tree,
        dl,
        dl / "gemmlowp",
        dl / "flatbuffers" / "include",
        dl / "kissfft",
        dl / "ruy",
        dl / "cmsis" / "Cortex_DFP" / "Device" / f"ARMC{core}" / "Include",
        dl / "cmsis" / "CMSIS" / "Core" / "Include",
        dl / "cmsis",
        dl / "cmsis_nn",
        dl / "cmsis_nn" / "Include",
    ]
    return tuple(f"-I{d}" for d in dirs)


def build_type() -> tuple[str, tuple[str, ...]]:
    name = os.environ.get(BUILD_TYPE_ENV) or DEFAULT_BUILD_TYPE
    if name not in BUILD_TYPES:
        known = ", ".join(BUILD_TYPES)
        raise BuildError(f"{BUILD_TYPE_ENV}={name!r}: not a TFLM build type (known: {known})")
    return name, BUILD_TYPES[name]


def platform_flags(cpu_flags: Sequence[str], core: str) -> tuple[str, ...]:
    fpu = () if any(f.startswith("-mfpu=") for f in cpu_flags) else ("-mfpu=auto",)
    device = (
        f"-DCPU_{core}=1",
        f'-DCMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE="ARMC{core}.h"',
        f"-DARMC{core}",
        *(("-DARM_MODEL_USE_PMU_COUNTERS",) if core in ("M55", "M85") else ()),
    )
    return (*cpu_flags, *fpu, *COMMON_FLAGS, *build_type()[1], *device)


_MAKE_LIST = re.compile(r"^(\w+)\s*:?\+?=\s*\\?\s*$")


def make_list(text: str, name: str) -> list[str]:
    """The file names of one `NAME := \\` list in a TFLM makefile fragment."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _MAKE_LIST.match(line)
        if match and match.group(1) == name:
            out = []
            for item in lines[i + 1 :]:
                item = item.strip().rstrip("\\").strip()
                if not item:
                    break
                out.append(item.replace("$(TENSORFLOW_ROOT)", ""))
            return out
    raise BuildError(f"TFLM makefile fragment has no {name} list")


# Supplied by hil's adapter from the board's port (the log goes nowhere, time
# comes from the port's counter), so one library serves every board of a core.
ADAPTER_PROVIDED = ("debug_log.cc", "micro_time.cc")
FRAMEWORK_SUBDIRS = ("arena_allocator", "memory_planner", "tflite_bridge")


def framework_sources(tree: Path) -> list[str]:
    """TFLM's MICROLITE_CC_BASE_SRCS (the micro framework and the shared
    TFLite sources) without tests, benchmarks and the files the adapter
    provides."""
    micro = tree / "tensorflow" / "lite" / "micro"
    found = [
        p
        for d in (micro, *(micro / s for s in FRAMEWORK_SUBDIRS))
        for p in d.glob("*.cc")
    ]
    skip = (tree / "tensorflow" / "lite" / "experimental", micro)
    found += [
        p
        for p in (tree / "tensorflow").rglob("*")
        if p.suffix in (".cc", ".c") and not any(s == q for s in skip for q in p.parents)
    ]
    names = sorted({str(p.relative_to(tree)) for p in found})
    return [
        n
        for n in names
        if not n.endswith(("_test.cc", "benchmark.cc"))
        and Path(n).name not in ADAPTER_PROVIDED
        and n != "tensorflow/lite/array.cc"  # TFLM leaves it out under TF_LITE_STATIC_MEMORY
    ]


OPTIMIZED = {"cmsis-nn": "tensorflow/lite/micro/kernels/cmsis_nn"}


def kernel_sources(tree: Path) -> list[str]:
    """TFLM's MICROLITE_CC_KERNEL_SRCS: the builtin kernels (not the signal
    library), reference versions."""
    text = (tree / "tensorflow/lite/micro/tools/make/sources.inc").read_text()
    return [n for n in make_list(text, "MICROLITE_CC_KERNEL_SRCS") if n.endswith((".cc", ".c"))]


def specialised(tree: Path, kernels: str) -> dict[str, str]:
    """Reference kernel file -> its namesake in the optimised folder, as
    TFLM's specialize_files.py replaces them (none for the reference library)."""
    folder = OPTIMIZED.get(kernels)
    if folder is None:
        return {}
    present = {p.name for p in (tree / folder).glob("*.cc")}
    return {n: f"{folder}/{Path(n).name}" for n in kernel_sources(tree) if Path(n).name in present}


def specialisable(tree: Path) -> set[str]:
    """Reference kernels some optimised library replaces."""
    return {n for lib in OPTIMIZED for n in specialised(tree, lib)}


def cmsis_nn_sources(tree: Path) -> list[str]:
    source = tree / TFLM_DOWNLOADS / "cmsis_nn" / "Source"
    return sorted(
        str(p.relative_to(tree))
        for p in source.rglob("*.c")
        if not p.name.endswith(("_f16.c", "_f32.c")) and p.name != "arm_nntables_flt.c"
    )


def tree_digest(tree: Path) -> str:
    """The names, sizes and mtimes of every file the build reads: a tree
    changed in any way gets new libraries, an unchanged one is never rebuilt."""
    h = hashlib.sha256()
    for part in TREE_PARTS:
        for root, dirs, files in os.walk(tree / part):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                st = os.stat(path)
                name = os.path.relpath(path, tree)
                h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# GCC 12 for MVE cores (M55) if-converts some float conversions into a
# conditional VCVT inside an IT block, which the assembler rejects (seen in
# resize_nearest_neighbor.cc under -DNDEBUG). Such a file, and only it, is
# compiled again without that pass; every other file keeps TFLM's flags.
_GCC_WORKAROUNDS = ((re.compile(r"Error: syntax error -- `vcvt\w*\."), "-fno-if-conversion2"),)


def _compile_all(jobs: list[list[str]], what: str) -> None:
    def run(cmd: list[str]) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        result = subprocess.run(cmd, capture_output=True, text=True)
        for pattern, flag in _GCC_WORKAROUNDS:
            if result.returncode != 0 and pattern.search(result.stderr):
                retry = [*cmd[:-4], flag, *cmd[-4:]]
                result = subprocess.run(retry, capture_output=True, text=True)
                if result.returncode == 0:
                    print(f"hil: TFLM build: {cmd[-3]} needed {flag} (a GCC 12 bug)",
                          file=sys.stderr)
        return cmd, result

    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        for cmd, result in pool.map(run, jobs):
            if result.returncode != 0:
                error = result.stderr.strip()
                raise BuildError(f"TFLM build ({what}) failed on {cmd[-3]}:\n{error}")


def _object_group(
    tree: Path, sources: list[str], flags: tuple[str, ...], key: str, what: str
) -> Path:
    """Compile `sources` with `flags` into cache/tflm/obj/<key>/ (once, under a
    lock), so both kernel libraries share the framework's objects."""
    group = cache_dir() / "tflm" / "obj" / key
    done = group / "done"
    with _locked(group.with_suffix(".lock")):
        if done.is_file():
            return group
        shutil.rmtree(group, ignore_errors=True)
        group.mkdir(parents=True)
        jobs = []
        for i, name in enumerate(sources):
            tool, lang = (GCC, C_FLAGS) if name.endswith(".c") else (GXX, CXX_FLAGS)
            obj = group / f"{i:04d}_{Path(name).stem}.o"
            jobs.append([tool, *lang, *flags, "-c", str(tree / name), "-o", str(obj)])
        _compile_all(jobs, what)
        done.write_text("\n".join(sources))
    return group


def tflm_library(
    cpu_flags: Sequence[str], kernels: str, explicit_tree: str | None = None
) -> TflmLibrary:
    """The cached static library of TFLM for these core flags and kernel
    library, building it (and printing its build time) when absent.

    Objects are grouped so that the two kernel libraries of one core share
    all they can: the framework, and every kernel CMSIS-NN does not replace.
    Those are compiled without CMSIS-NN's defines, which only declare the
    extra int8/int4 registrations in kernel headers and change no code."""
    if kernels not in KERNEL_LIBRARIES:
        known = ", ".join(KERNEL_LIBRARIES)
        raise BuildError(f"unknown TFLM kernel library {kernels!r} (known: {known})")
    tree = tflm_tree(explicit_tree)
    core = core_name(cpu_flags)
    revision = tree_digest(tree)[:16]
    base = (*platform_flags(cpu_flags, core), *includes(tree, core))
    defines = CMSIS_NN_DEFINES if kernels == "cmsis-nn" else ()
    cxx_flags = (*base, *defines)

    def key(*parts: object) -> str:
        compiler = compiler_version((GXX, AR), CXX_PACKAGES)
        text = repr((compiler, revision, CXX_FLAGS, C_FLAGS, *parts))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    lib_key = key(tuple(cpu_flags), kernels, cxx_flags, CORE_OPT, KERNEL_OPT)
    folder = f"{core}-{kernels}-{build_type()[0]}-{lib_key}"
    archive = cache_dir() / "tflm" / "lib" / folder / "libtflm.a"
    build = f"{build_type()[0]} {CORE_OPT}/{KERNEL_OPT}"
    library = TflmLibrary(
        archive, tree, revision, kernels, includes(tree, core), cxx_flags, 0.0, build
    )
    if archive.is_file():
        return library
    started = time.monotonic()
    with _locked(archive.parent.with_suffix(".lock")):
        if archive.is_file():  # another worker built it while this one waited
            return library
        with progress.task("build", f"TFLM library ({core}, {kernels})"):
            _build_library(tree, kernels, base, cxx_flags, key, archive)
    seconds = time.monotonic() - started
    print(f"hil: built TFLM ({core}, {kernels}) in {seconds:.1f} s: {archive}", file=sys.stderr)
    return dataclasses.replace(library, seconds=seconds)


def _build_library(
    tree: Path,
    kernels: str,
    base: tuple[str, ...],
    cxx_flags: tuple[str, ...],
    key: Callable[..., str],
    archive: Path,
) -> None:
    """Compile the library's object groups and archive them into `archive`."""
    replaced = specialisable(tree)
    swap = specialised(tree, kernels)
    shared = [n for n in kernel_sources(tree) if n not in replaced]
    own = [swap.get(n, n) for n in kernel_sources(tree) if n in replaced]
    plan = [
        ("framework", framework_sources(tree), (*base, CORE_OPT)),
        ("shared kernels", shared, (*base, KERNEL_OPT)),
        (f"{kernels} kernels", own, (*cxx_flags, KERNEL_OPT)),
    ]
    if kernels == "cmsis-nn":
        plan.append(("CMSIS-NN", cmsis_nn_sources(tree), (*cxx_flags, KERNEL_OPT)))
    groups = [
        _object_group(tree, names, flags, key(what, flags), what) for what, names, flags in plan
    ]
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=archive.parent, prefix=".ar-")) / "libtflm.a"
    objects = sorted(str(o) for g in groups for o in g.glob("*.o"))
    result = subprocess.run([AR, "rcs", str(tmp), *objects], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"TFLM archive failed:\n{result.stderr.strip()}")
    os.replace(tmp, archive)
    shutil.rmtree(tmp.parent, ignore_errors=True)

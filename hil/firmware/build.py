"""Build the reference firmware with arm-none-eabi-gcc, cached by content.

The cache key hashes every firmware source, the board's port and flags, the
build variant and the compiler's version, so an image is never stale and an
unchanged one is never rebuilt."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hil import progress
from hil.boards.board import Board
from hil.errors import BuildError
from hil.firmware import tflm_firmware
from hil.firmware.tflm_build import TflmLibrary, tflm_library
from hil.firmware.tflm_firmware import check_engine
from hil.firmware.tflm_resolver import chosen_methods, ops_key, resolver_methods
from hil.firmware.toolchain import C_PACKAGES, GCC, compiler_version
from hil.paths import cache_dir, firmware_dir, port_dirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMMON_FLAGS = (
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-O2",
    "-g",
    "-ffunction-sections",
    "-fdata-sections",
    # The host references never fuse multiply-adds; neither may the device.
    "-ffp-contract=off",
)
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
SOURCE_SUFFIXES = (".c", ".cc", ".h", ".ld", ".toml")  # what the image digest reads
SOURCE_DIRS = ("common", "agent", "engine", "kernels", "app")
HIL_ENGINE_DIRS = ("engine", "kernels")  # left out when TFLM is the engine
VARIANT_DEFINES = {
    "release": (),
    "test": ("HIL_DEBUG_COMMANDS",),
    # MLPerf Tiny (EEMBC) protocol, with one model linked into the image.
    "eembc": ("HIL_EEMBC",),
}
EMBED_MODEL = """\
    .section .rodata.hil_embedded_model, "a"
    .balign 16
    .global hil_embedded_model
hil_embedded_model:
    .incbin "{path}"
    .global hil_embedded_model_end
hil_embedded_model_end:
"""


# A board file's marker_pin: STM32 style "PC7" (port letter) or nRF style
# "P1.01" (port number); both become a port and a pin number.
MARKER_PIN_FORMS = (re.compile(r"P([A-K])(\d{1,2})"), re.compile(r"P(\d)\.(\d{1,2})"))


def marker_defines(board: Board) -> tuple[str, ...]:
    """-D flags naming the board file's [firmware] marker_pin to the port,
    which drives that GPIO during each timed window (none when unset)."""
    if not board.marker_pin:
        return ()
    for form in MARKER_PIN_FORMS:
        match = form.fullmatch(board.marker_pin)
        if match:
            port, pin = match.groups()
            number = ord(port) - ord("A") if port.isalpha() else int(port)
            return (f"-DHIL_MARKER_PORT={number}", f"-DHIL_MARKER_PIN={int(pin)}")
    raise BuildError(
        f"board {board.name}: [firmware] marker_pin {board.marker_pin!r}: expected a pin "
        'like "PC7" (STM32) or "P1.01" (nRF)'
    )


def baud_defines(board: Board) -> tuple[str, ...]:
    """-D flag naming the board file's [link] baud to the port, which sets
    its UART to it (ports with an emulated UART ignore it). Only the agent's
    and the port's compile see it, never the TFLM library's flags."""
    if board.baud <= 0:
        raise BuildError(f"board {board.name}: [link] baud must be positive, got {board.baud}")
    return (f"-DHIL_UART_BAUD={board.baud}u",)


@dataclass(frozen=True)
class FirmwareImage:
    elf: Path
    build_id: str
    board: str
    variant: str
    model: Path | None = None  # linked into the image (the eembc variant)
    engine: str = "hil"
    tflm_build_seconds: float = 0.0  # time spent building TFLM for this image (0: cached)
    #: The operators a TFLM image's resolver registers: None for every builtin
    #: (tflm_ops "all"), else only these (tflm_ops "model", hil.firmware.tflm_resolver).
    tflm_ops: tuple[str, ...] | None = None


def port_folders(board: Board) -> list[Path]:
    """The board's port folders in include order: ports/common, the shared
    folders the port's port.toml lists under `uses` (e.g. cmsdk, systick, dwt),
    then the port's own folder."""
    ports = firmware_dir() / "ports"
    port_dir = _find_port(board.port)
    if port_dir is None:
        looked = ", ".join(map(str, port_dirs()))
        raise BuildError(f"board {board.name}: no firmware port {board.port!r} in {looked}")
    manifest = port_dir / "port.toml"
    uses: list[str] = []
    if manifest.is_file():
        try:
            data = tomllib.loads(manifest.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise BuildError(f"{manifest}: cannot read: {exc}") from exc
        uses = data.get("uses", [])
        if not isinstance(uses, list) or not all(isinstance(u, str) for u in uses):
            raise BuildError(f"{manifest}: uses: expected a list of folder names")
    folders = [ports / "common"]
    for name in uses:
        shared = None if name in ("common", board.port) else _find_port(name)
        if shared is None:
            looked = ", ".join(map(str, port_dirs()))
            raise BuildError(f"{manifest}: uses: no shared port folder {name!r} in {looked}")
        folders.append(shared)
    return [*folders, port_dir]


def _find_port(name: str) -> Path | None:
    """The port folder NAME in the first port search folder holding it (a
    project's ports come before hil's firmware/ports)."""
    for folder in port_dirs():
        if (folder / name).is_dir():
            return folder / name
    return None


def _sources(board: Board, engine: str = "hil") -> list[Path]:
    root = firmware_dir()
    # TFLM replaces hil's interpreter and kernels (firmware/tflm, C++).
    names = [d for d in SOURCE_DIRS if engine == "hil" or d not in HIL_ENGINE_DIRS]
    dirs = [root / d for d in names] + port_folders(board)
    return sorted(p for d in dirs for p in d.glob("*.c"))


# Code generation only: optimisation, debug info, macros, -f/-m options and
# warnings. Nothing that names a file, a tool, a plugin or the link (-B,
# -specs=, -fplugin=, -Wl,..., -T, -o, -I, -include, -L, -l).
_CFLAG_ALLOWED = re.compile(
    r"-O[0-3sgz]?|-Ofast|-g[a-z0-9-]*|-[DU][A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.+-]*)?"
    r"|-f[a-z0-9][a-z0-9-]*(=[A-Za-z0-9_.+-]*)?|-m[a-z0-9][a-z0-9_.+-]*(=[A-Za-z0-9_.+-]*)?"
    r"|-W[a-z0-9][a-z0-9-]*(=[0-9a-z-]*)?|-std=[a-z0-9+]+"
)
# -f options that read or write files, or load code into the compiler.
_CFLAG_REFUSED_F = ("-fplugin", "-fprofile", "-fauto-profile", "-fdump", "-fsave-optimization",
                    "-fdebug-prefix-map", "-ffile-prefix-map", "-fmacro-prefix-map",
                    "-fcallgraph-info", "-fstack-usage", "-fopt-info")  # fmt: skip


def embedded_model_name(model: Path) -> str:
    """The model name the eembc image reports (HIL_MODEL_NAME)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model.stem)


def check_cflags(cflags: Sequence[str]) -> tuple[str, ...]:
    """Extra compiler flags (`--hil-cflags`, `hil run --cflags`): code-generation
    options from an allow-list, never a file, a tool or a link option."""
    for flag in cflags:
        if not _CFLAG_ALLOWED.fullmatch(flag) or flag.startswith(_CFLAG_REFUSED_F):
            raise BuildError(
                f"extra compiler flag {flag!r}: give options like -O1 or -DNAME=1; only "
                "code-generation flags are allowed (-O, -g, -D, -U, -f, -m, -W, -std=), not "
                "files, -o, -T, -B, -specs=, -fplugin=, -Wl, or other tool options"
            )
    return tuple(cflags)


def _inputs_digest(
    board: Board,
    variant: str,
    model: Path | None,
    cflags: tuple[str, ...] = (),
    tflm: TflmLibrary | None = None,
    tflm_ops: tuple[str, ...] | None = None,
) -> str:
    root = firmware_dir()
    h = hashlib.sha256()
    if model is not None:  # its bytes and its name both go into the image
        h.update(model.read_bytes())
        h.update(repr(("model name", embedded_model_name(model))).encode())
    h.update(compiler_version((GCC,), C_PACKAGES).encode())
    h.update(repr((board.port, board.cflags, board.name, board.core, variant)).encode())
    h.update(repr(marker_defines(board)).encode())
    h.update(repr(baud_defines(board)).encode())
    h.update(repr((COMMON_FLAGS, LINK_FLAGS)).encode())
    if cflags:  # none: the same digest (and build id) as before extra flags existed
        h.update(repr(cflags).encode())
    if tflm is not None:  # the library's path holds its own key (tree, core, flags)
        h.update(repr((str(tflm.archive), tflm.kernels, tflm.revision)).encode())
    if tflm_ops is not None:  # none: every builtin, the digest as before the choice existed
        h.update(repr(("tflm ops", ops_key(tflm_ops))).encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    for folder in port_folders(board):  # a project's own port lives outside the tree
        if not folder.is_relative_to(root):
            for path in sorted(folder.rglob("*")):
                if path.suffix in SOURCE_SUFFIXES and path.is_file():
                    h.update(str(path.relative_to(folder.parent)).encode())
                    h.update(path.read_bytes())
    return h.hexdigest()


def build_firmware(
    board: Board,
    variant: str = "release",
    model: Path | None = None,
    cflags: Sequence[str] = (),
    engine: str = "hil",
    linked_model: Path | None = None,
    tflm_ops: Sequence[str] | None = None,
) -> FirmwareImage:
    """Return the cached image for (sources, board, variant, model, extra
    flags, engine), building it if needed. The eembc variant links `model`
    into the image; `linked_model` links a model into an image speaking hil's
    protocol, which the host then loads in place (its bytes are part of the
    build id). `cflags` come after the common flags (so `-O0` overrides
    `-O2`). A TFLM engine builds (or reuses) its TFLM library first;
    `tflm_ops` names the only operators its resolver registers (None: every
    builtin), the TFLM library staying the same."""
    extra = check_cflags(cflags)
    linked_sha256 = None
    if linked_model is not None:
        if variant == "eembc" or model is not None:
            raise BuildError("a linked model is for hil's protocol; the eembc variant takes model")
        model = linked_model
        try:
            linked_sha256 = hashlib.sha256(Path(model).read_bytes()).hexdigest()
        except OSError as exc:
            raise BuildError(f"model to link into the image: cannot read {model}: {exc}") from exc
    kernels = check_engine(engine)
    ops = tuple(sorted(set(tflm_ops))) if tflm_ops is not None else None
    if ops is not None and kernels is None:
        raise BuildError("tflm_ops names the operators TFLM registers; hil's engine has its own")
    tflm = tflm_library(board.cflags, kernels) if kernels is not None else None
    if ops is not None and tflm is not None:
        chosen_methods(resolver_methods(tflm.tree), ops)  # a custom or unknown op: refused now
    if variant not in VARIANT_DEFINES:
        known = ", ".join(VARIANT_DEFINES)
        raise BuildError(f"unknown firmware variant {variant!r} (known: {known})")
    if linked_model is None and (variant == "eembc") != (model is not None):
        raise BuildError("the eembc variant, and only it, links a model into the image")
    if model is not None:
        model = Path(model).resolve()
        if not model.is_file():
            raise BuildError(f"model to link into the image does not exist: {model}")
        if any(c in str(model) for c in '"\\\n'):
            raise BuildError(f"model path cannot be embedded by the assembler: {model}")
    digest = _inputs_digest(board, variant, model, extra, tflm, ops)
    build_id = digest[:16]
    engine_part = "" if engine == "hil" else f"-{engine}"
    linked_part = "-linked" if linked_sha256 else ""
    ops_part = f"-ops{len(ops)}" if ops is not None else ""
    name = f"{board.name}-{variant}{engine_part}{ops_part}{linked_part}-{build_id}"
    out_dir = cache_dir() / "firmware" / name
    elf = out_dir / "firmware.elf"
    seconds = tflm.seconds if tflm is not None else 0.0
    if elf.is_file():
        return FirmwareImage(elf, build_id, board.name, variant, model, engine, seconds, ops)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the cache entry and rename into place, so parallel workers
    # never see a half-written image.
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=".build-"))
    try:
        with progress.task("build", f"firmware {name}"):
            _compile(
                board, variant, build_id, tmp / "firmware.elf", model, extra, tflm, linked_sha256,
                ops,
            )  # fmt: skip
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not elf.is_file():  # not merely another worker finishing first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FirmwareImage(elf, build_id, board.name, variant, model, engine, seconds, ops)


def _embed(model: Path, out_dir: Path) -> Path:
    source = out_dir / "embedded_model.S"
    source.write_text(EMBED_MODEL.format(path=model))
    return source


def _compile(
    board: Board,
    variant: str,
    build_id: str,
    elf: Path,
    model: Path | None,
    cflags: tuple[str, ...] = (),
    tflm: TflmLibrary | None = None,
    linked_sha256: str | None = None,
    tflm_ops: tuple[str, ...] | None = None,
) -> None:
    root = firmware_dir()
    port_dir = port_folders(board)[-1]
    defines = [
        f'-DHIL_BOARD_NAME="{board.name}"',
        f'-DHIL_CORE_NAME="{board.core}"',
        f'-DHIL_BUILD_ID="{build_id}"',
        *(f"-D{d}" for d in VARIANT_DEFINES[variant]),
        *marker_defines(board),
        *baud_defines(board),
        *([f'-DHIL_MODEL_NAME="{embedded_model_name(model)}"'] if model else []),
        *([f'-DHIL_LINKED_MODEL_SHA256="{linked_sha256}"'] if linked_sha256 else []),
    ]
    include_dirs = (root / "include", root, *port_folders(board))
    includes = [f"-I{d}" for d in include_dirs]
    c_command = [GCC, *board.cflags, *COMMON_FLAGS, *cflags, *defines, *includes]
    link = [
        *LINK_FLAGS,
        f"-L{root / 'ports' / 'common'}",
        f"-T{port_dir / 'link.ld'}",
        f"-Wl,-Map={elf.with_suffix('.map')}",
        "-lm",
    ]
    embedded = [_embed(model, elf.parent)] if model is not None else []
    extra = f", extra flags {' '.join(cflags)}" if cflags else ""
    if tflm is not None:
        try:
            tflm_firmware.link_image(
                firmware=root,
                library=tflm,
                board_cflags=board.cflags,
                c_command=c_command,
                c_sources=[*_sources(board, "tflm"), *embedded],
                link_flags=link,
                elf=elf,
                ops=tflm_ops,
            )
        except BuildError as exc:
            what = f"{variant}, TFLM {tflm.kernels}{extra}"
            raise BuildError(f"firmware build for {board.name} ({what}): {exc}") from exc
        return
    cmd = [*c_command, *map(str, _sources(board)), *map(str, embedded), *link, "-o", str(elf)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(
            f"firmware build for {board.name} ({variant}{extra}) failed:\n{result.stderr.strip()}"
        )

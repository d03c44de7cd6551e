"""Build the reference firmware with arm-none-eabi-gcc, cached by content.

The cache key hashes every firmware source, the board's port and flags, the
build variant and the compiler's version, so an image is never stale and an
unchanged one is never rebuilt."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hil.boards.board import Board
from hil.errors import BuildError, ToolMissingError
from hil.paths import cache_dir, firmware_dir

GCC = "arm-none-eabi-gcc"
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
SOURCE_DIRS = ("common", "agent", "engine", "kernels", "app")
VARIANT_DEFINES = {"release": (), "test": ("HIL_DEBUG_COMMANDS",)}


@dataclass(frozen=True)
class FirmwareImage:
    elf: Path
    build_id: str
    board: str
    variant: str


@cache
def _compiler_version() -> str:
    if shutil.which(GCC) is None:
        raise ToolMissingError(
            f"{GCC} not found on PATH; install it with "
            "`apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi`"
        )
    out = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def _sources(board: Board) -> list[Path]:
    root = firmware_dir()
    port_dir = root / "ports" / board.port
    if not port_dir.is_dir():
        raise BuildError(f"board {board.name}: no firmware port {board.port!r} in {root / 'ports'}")
    dirs = [root / d for d in SOURCE_DIRS] + [root / "ports" / "common", port_dir]
    return sorted(p for d in dirs for p in d.glob("*.c"))


def _inputs_digest(board: Board, variant: str) -> str:
    root = firmware_dir()
    h = hashlib.sha256()
    h.update(_compiler_version().encode())
    h.update(repr((board.port, board.cflags, board.name, board.core, variant)).encode())
    h.update(repr((COMMON_FLAGS, LINK_FLAGS)).encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in (".c", ".h", ".ld") and path.is_file():
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def build_firmware(board: Board, variant: str = "release") -> FirmwareImage:
    """Return the cached image for (sources, board, variant), building it if needed."""
    if variant not in VARIANT_DEFINES:
        known = ", ".join(VARIANT_DEFINES)
        raise BuildError(f"unknown firmware variant {variant!r} (known: {known})")
    digest = _inputs_digest(board, variant)
    build_id = digest[:16]
    out_dir = cache_dir() / "firmware" / f"{board.name}-{variant}-{build_id}"
    elf = out_dir / "firmware.elf"
    if elf.is_file():
        return FirmwareImage(elf, build_id, board.name, variant)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the cache entry and rename into place, so parallel workers
    # never see a half-written image.
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=".build-"))
    try:
        _compile(board, variant, build_id, tmp / "firmware.elf")
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not elf.is_file():  # not merely another worker finishing first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FirmwareImage(elf, build_id, board.name, variant)


def _compile(board: Board, variant: str, build_id: str, elf: Path) -> None:
    root = firmware_dir()
    port_dir = root / "ports" / board.port
    defines = [
        f'-DHIL_BOARD_NAME="{board.name}"',
        f'-DHIL_CORE_NAME="{board.core}"',
        f'-DHIL_BUILD_ID="{build_id}"',
        *(f"-D{d}" for d in VARIANT_DEFINES[variant]),
    ]
    include_dirs = (root / "include", root, root / "ports" / "common", port_dir)
    includes = [f"-I{d}" for d in include_dirs]
    cmd = [
        GCC,
        *board.cflags,
        *COMMON_FLAGS,
        *defines,
        *includes,
        *map(str, _sources(board)),
        *LINK_FLAGS,
        f"-L{root / 'ports' / 'common'}",
        f"-T{port_dir / 'link.ld'}",
        f"-Wl,-Map={elf.with_suffix('.map')}",
        "-lm",
        "-o",
        str(elf),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(
            f"firmware build for {board.name} ({variant}) failed:\n{result.stderr.strip()}"
        )

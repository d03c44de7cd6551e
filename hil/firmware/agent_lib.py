"""hil's device agent as a static library plus its public headers, for a team
linking the agent into its own firmware (docs/own-firmware.md).

One library per (agent sources, core flags, compiler), cached like the
firmware images: `hil firmware agent-lib --board B --print-dir` builds it once
and prints the folder holding lib/libhil_agent.a and include/hil/*.h."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hil.errors import BuildError
from hil.firmware.build import COMMON_FLAGS
from hil.firmware.toolchain import AR, C_PACKAGES, GCC, compiler_version
from hil.paths import cache_dir, firmware_dir

# The agent proper, its framing and the reply path (serial or mailbox); not
# the EEMBC protocol, which is hil's own application.
AGENT_SOURCES = (
    "agent/agent.c",
    "agent/cobs.c",
    "agent/crc32.c",
    "agent/mailbox.c",
    "common/status.c",
)
# The headers an application includes: agent.h and what it and the engine
# and port interfaces include.
PUBLIC_HEADERS = ("agent.h", "engine.h", "port.h", "protocol.h", "status.h")
FLAGS = COMMON_FLAGS  # as hil's own images are compiled


@dataclass(frozen=True)
class AgentLibrary:
    folder: Path  # holds lib/libhil_agent.a and include/hil/
    build_id: str  # what the agent reports in HELLO

    @property
    def archive(self) -> Path:
        return self.folder / "lib" / "libhil_agent.a"

    @property
    def include(self) -> Path:
        return self.folder / "include"


def _digest(cpu_flags: Sequence[str]) -> str:
    root = firmware_dir()
    h = hashlib.sha256()
    h.update(compiler_version((GCC, AR), C_PACKAGES).encode())
    h.update(repr((tuple(cpu_flags), FLAGS)).encode())
    for name in (*AGENT_SOURCES, *(f"include/hil/{n}" for n in PUBLIC_HEADERS)):
        h.update(name.encode())
        h.update((root / name).read_bytes())
    for header in sorted((root / "agent").glob("*.h")):
        h.update(header.name.encode())
        h.update(header.read_bytes())
    return h.hexdigest()


def agent_library(cpu_flags: Sequence[str], core: str) -> AgentLibrary:
    """The cached agent library for these core flags, built when absent."""
    build_id = _digest(cpu_flags)[:16]
    folder = cache_dir() / "agent" / f"{core}-{build_id}"
    library = AgentLibrary(folder, build_id)
    if library.archive.is_file():
        return library
    root = firmware_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the cache entry and renamed into place, as firmware images are.
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".build-"))
    try:
        (tmp / "lib").mkdir()
        (tmp / "include" / "hil").mkdir(parents=True)
        objects = []
        for name in AGENT_SOURCES:
            obj = tmp / f"{Path(name).stem}.o"
            cmd = [
                GCC,
                *cpu_flags,
                *FLAGS,
                f'-DHIL_BUILD_ID="{build_id}"',
                f"-I{root / 'include'}",
                f"-I{root}",
                "-c",
                str(root / name),
                "-o",
                str(obj),
            ]
            _run(cmd, f"agent library ({name})")
            objects.append(str(obj))
        _run([AR, "rcs", str(tmp / "lib" / "libhil_agent.a"), *objects], "agent library archive")
        for done in objects:
            os.remove(done)
        for header in PUBLIC_HEADERS:
            shutil.copy2(root / "include" / "hil" / header, tmp / "include" / "hil" / header)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not library.archive.is_file():  # not merely another process finishing first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return library


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stderr.strip()}")

"""The Arm GNU toolchain hil builds firmware with, and what it says when a part is missing."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from hil.errors import ToolMissingError

GCC = "arm-none-eabi-gcc"
GXX = "arm-none-eabi-g++"
AR = "arm-none-eabi-ar"

C_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi"
CXX_PACKAGES = f"{C_PACKAGES} libstdc++-arm-none-eabi-dev libstdc++-arm-none-eabi-newlib"


@cache
def compiler_version(tools: tuple[str, ...], packages: str) -> str:
    """The first line of the compiler's --version (part of every build key);
    the first of `tools` is the compiler, all of them must be on PATH.
Cached: it runs once per process."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise ToolMissingError(
                f"{tool} not found on PATH; install it with `apt-get install {packages}`"
            )
    out = subprocess.run([tools[0], "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]

"""A missing part of the Arm toolchain is named with the packages that provide it."""

from __future__ import annotations

import pytest

from hil.errors import ToolMissingError
from hil.firmware.toolchain import AR, CXX_PACKAGES, GXX, compiler_version


def test_a_missing_tool_is_named_with_its_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    # The check is cached per process: an earlier test on this worker may
    # already have found the tools on the real PATH.
    compiler_version.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissingError) as info:
        compiler_version((GXX, AR), CXX_PACKAGES)
    assert str(info.value) == (
        f"{GXX} not found on PATH; install it with `apt-get install {CXX_PACKAGES}`"
    )


def test_the_version_is_the_compilers_first_line() -> None:
    version = compiler_version((GXX, AR), CXX_PACKAGES)
    assert version.startswith("arm-none-eabi-g++") and "\n" not in version

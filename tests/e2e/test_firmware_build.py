"""The firmware cache: an image is never stale and never rebuilt needlessly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hil.boards import load_board
from hil.errors import BuildError, ToolMissingError
from hil.firmware import build
from hil.firmware.toolchain import compiler_version
from tests.e2e.helpers import REPO


@pytest.fixture
def firmware_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the firmware tree and an empty cache."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "firmware", home / "firmware")
    monkeypatch.setenv("HIL_HOME", str(home))
    monkeypatch.setenv("HIL_BOARDS", str(REPO / "boards"))
    monkeypatch.setenv("HIL_CACHE", str(tmp_path / "cache"))
    return home / "firmware"


def test_same_inputs_reuse_the_image(firmware_copy: Path) -> None:
    board = load_board("mps2-an386")
    first = build.build_firmware(board)
    mtime = first.elf.stat().st_mtime_ns
    again = build.build_firmware(board)
    assert again == first and again.elf.stat().st_mtime_ns == mtime


def test_a_source_change_or_variant_change_rebuilds(firmware_copy: Path) -> None:
    board = load_board("mps2-an386")
    first = build.build_firmware(board)
    test_variant = build.build_firmware(board, "test")
    assert test_variant.build_id != first.build_id
    with (firmware_copy / "agent" / "agent.c").open("a") as f:
        f.write("\n/* a change */\n")
    changed = build.build_firmware(board)
    assert changed.build_id != first.build_id and changed.elf.is_file()
    assert first.elf.is_file()  # the old image stays for whoever still uses it


def test_compile_errors_are_reported(firmware_copy: Path) -> None:
    (firmware_copy / "app" / "main.c").write_text("int main(void) { return undefined_thing; }\n")
    with pytest.raises(BuildError, match="undefined_thing"):
        build.build_firmware(load_board("corstone300"))


def test_missing_compiler_says_how_to_install(
    firmware_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    compiler_version.cache_clear()
    try:
        with pytest.raises(ToolMissingError, match="apt-get install gcc-arm-none-eabi"):
            build.build_firmware(load_board("corstone300"))
    finally:
        compiler_version.cache_clear()


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(BuildError, match="unknown firmware variant 'debug'"):
        build.build_firmware(load_board("corstone300"), "debug")

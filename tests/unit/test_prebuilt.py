"""Prebuilt firmware: where a board file names it, and the refusals that need
no toolchain (the ELF-level ones are in tests/e2e/test_own_firmware.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.boards import load_board
from hil.errors import BoardFileError, HilError
from hil.firmware.prebuilt import FirmwareImageError, prebuilt_firmware
from tests.unit.test_boards import GOOD, write


def test_board_file_image_resolves_beside_the_board_file(tmp_path: Path) -> None:
    text = GOOD.replace('port = "mps2"', 'port = "mps2"\nimage = "out/app.elf"')
    board = load_board(write(tmp_path, text))
    assert board.firmware == tmp_path / "out" / "app.elf"


def test_board_file_image_must_be_a_string(tmp_path: Path) -> None:
    text = GOOD.replace('port = "mps2"', 'port = "mps2"\nimage = 3')
    with pytest.raises(BoardFileError, match=r"firmware\.image: expected str"):
        load_board(write(tmp_path, text))


def test_a_missing_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(FirmwareImageError, match=r"firmware .*nope\.elf: cannot read"):
        prebuilt_firmware(tmp_path / "nope.elf", load_board("corstone300"))


def test_a_truncated_elf_is_refused_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.elf"
    broken.write_bytes(b"\x7fELF\x01\x01\x01" + b"\0" * 9)
    with pytest.raises(HilError) as caught:
        prebuilt_firmware(broken, load_board("corstone300"))
    assert "\n" not in str(caught.value) and "broken.elf" in str(caught.value)

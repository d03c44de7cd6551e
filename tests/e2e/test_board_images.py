"""CI's check of every board file: its firmware builds, and the ELF fits the
part: vector table at the code base, initial SP in RAM, reset vector in code,
every section inside the memories the board file's [memory] table lists.
Boards with no emulator (pyOCD boards) are checked only this way in CI."""

from __future__ import annotations

import dataclasses

import pytest

from hil.boards import list_boards
from hil.boards.board import Board
from hil.boards.memory import MemoryMap, MemoryRegion
from hil.errors import BuildError
from hil.firmware.build import build_firmware, marker_defines, port_folders
from hil.firmware.image_check import check_image

BOARDS = list_boards()


@pytest.mark.parametrize("board", BOARDS, ids=[b.name for b in BOARDS])
def test_image_fits_the_part(board: Board) -> None:
    assert board.memory is not None, f"{board.path}: no [memory] table"
    image = build_firmware(board)
    assert check_image(image.elf, board.memory) == []


@pytest.mark.parametrize("board", BOARDS, ids=[b.name for b in BOARDS])
def test_marker_pin_reaches_the_port_that_drives_it(board: Board) -> None:
    """Ports with a real marker GPIO take it from the board file; emulator
    ports have none and are given none."""
    port_c = port_folders(board)[-1] / "port.c"
    drives = port_c.is_file() and "HIL_MARKER_PORT" in port_c.read_text()
    assert drives == bool(board.marker_pin)
    assert bool(marker_defines(board)) == bool(board.marker_pin)


def test_a_real_board_without_a_marker_pin_does_not_build() -> None:
    board = next(b for b in BOARDS if b.name == "nucleo-h743zi2")
    with pytest.raises(BuildError, match=r"no marker pin: set \[firmware\] marker_pin"):
        build_firmware(dataclasses.replace(board, marker_pin=""))


def test_boards_without_an_emulator_say_so() -> None:
    for board in BOARDS:
        if set(board.backend_order) == {"pyocd"}:
            assert "not run on hardware in CI" in board.description, board.path
            assert "not run on hardware in CI" in board.path.read_text()


def test_a_part_too_small_is_caught() -> None:
    board = next(b for b in BOARDS if b.name == "nucleo-l4r5zi")
    assert board.memory is not None
    small = MemoryMap(
        code=MemoryRegion("flash", 0x08000000, 0x1000),
        ram=(MemoryRegion("SRAM1", 0x20000000, 0x8000),),
    )
    problems = check_image(build_firmware(dataclasses.replace(board)).elf, small)
    text = "\n".join(problems)
    assert "initial SP 0x2000" in text and "in no RAM region" in text
    assert "section .text" in text and "outside the part's memories" in text
    assert "section .arena_region" in text

"""The board file's [link] baud reaches the firmware: a define in the agent's
and the port's compile (not the TFLM library's flags), covered by the image's
build id; a baud that is not positive is refused, naming the board."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import hil.firmware.build as build
from hil.boards import load_board
from hil.errors import BoardFileError, BuildError
from tests.unit.test_boards import GOOD, write


def captured_compile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, baud: int) -> list[str]:
    """The compiler command hil's engine would run for nucleo-l4r5zi at BAUD
    (the compiler is not run: the command is kept and the build "fails")."""
    monkeypatch.setenv("HIL_CACHE", str(tmp_path / f"cache-{baud}"))
    seen: list[list[str]] = []
    real_run = subprocess.run

    def run(cmd: list[str], **kwargs: Any) -> Any:
        if "-o" not in cmd:  # the compiler's --version, asked for the build id
            return real_run(cmd, **kwargs)
        seen.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 1, "", "not compiled (test)")

    monkeypatch.setattr(build.subprocess, "run", run)
    board = dataclasses.replace(load_board("nucleo-l4r5zi"), baud=baud)
    with pytest.raises(BuildError, match="not compiled"):
        build.build_firmware(board)
    compiles = [c for c in seen if c and c[0] == build.GCC]
    assert len(compiles) == 1
    return compiles[0]


def test_the_board_baud_is_a_define_of_the_firmware_compile(monkeypatch, tmp_path) -> None:
    cmd = captured_compile(monkeypatch, tmp_path, 921600)
    assert cmd.count("-DHIL_UART_BAUD=921600u") == 1
    cmd = captured_compile(monkeypatch, tmp_path, 230400)
    assert "-DHIL_UART_BAUD=230400u" in cmd and "-DHIL_UART_BAUD=921600u" not in cmd


def test_the_build_id_changes_with_the_baud() -> None:
    board = load_board("nucleo-l4r5zi")
    ids = {
        build._inputs_digest(dataclasses.replace(board, baud=baud), "release", None)
        for baud in (115200, 921600, 115200)
    }
    assert len(ids) == 2


def test_the_baud_stays_out_of_the_tflm_library_flags() -> None:
    board = load_board("nucleo-l4r5zi")
    fast = dataclasses.replace(board, baud=921600)
    assert fast.cflags == board.cflags  # what tflm_library() is keyed and built on
    assert not any("BAUD" in flag for flag in fast.cflags)


@pytest.mark.parametrize("baud", [0, -9600])
def test_a_baud_that_is_not_positive_is_refused(tmp_path: Path, baud: int) -> None:
    with pytest.raises(BoardFileError, match=re.escape(f"link.baud: must be positive, got {baud}")):
        load_board(write(tmp_path, GOOD + f"[link]\nbaud = {baud}\n"))
    board = dataclasses.replace(load_board("nucleo-l4r5zi"), baud=baud)
    with pytest.raises(BuildError, match=r"board nucleo-l4r5zi: \[link\] baud must be positive"):
        build.baud_defines(board)

"""The FVP backend's handling of the FVP's command line and stdout, with
FAKE FVP executables written here (shell scripts, not Arm's FVP)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import hil.targets.fvp as fvp
from hil.boards import load_board
from hil.boards.resolve import Resolution
from hil.errors import TargetError
from hil.firmware.build import FirmwareImage
from hil.targets import create_target

FVP_OUTPUT = """\
telnetterminal0: Listening for serial connection on port 5003
telnetterminal1: Listening for serial connection on port 5004
telnetterminal2: Listening for serial connection on port 5005
"""


def fake_fvp(tmp_path: Path, body: str) -> Path:
    """A FAKE FVP: a shell script with the FVP's name and `body`."""
    exe = tmp_path / "FVP_Corstone_SSE-300_Ethos-U55"
    exe.write_text(f"#!/bin/sh\n# FAKE FVP for hil's tests\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def target_for(exe: Path, tmp_path: Path) -> fvp.FvpTarget:
    resolution = Resolution(load_board("corstone300"), "fvp", str(exe), exe.name, "test")
    image = FirmwareImage(tmp_path / "firmware.elf", "0123", "corstone300", "release")
    target = create_target(resolution, image)
    assert isinstance(target, fvp.FvpTarget)
    return target


def test_uart0_port_is_read_from_the_listening_lines() -> None:
    assert fvp.uart_port(FVP_OUTPUT) == 5003
    assert fvp.uart_port("telnetterminal1: Listening for serial connection on port 7") is None
    assert fvp.uart_port("") is None


def test_statistics_block_is_extracted() -> None:
    out = "noise\n\n--- FVP_X statistics: ----\nSimulated time : 1.0s\n---------\n"
    assert fvp.statistics(out) == "--- FVP_X statistics: ----\nSimulated time : 1.0s\n---------"
    assert fvp.statistics("no stats here") == ""


def test_command_is_headless_with_the_image_and_stats(tmp_path: Path) -> None:
    target = target_for(tmp_path / "FVP_Corstone_SSE-300_Ethos-U55", tmp_path)
    argv = target.command()
    options = [argv[i + 1] for i, a in enumerate(argv) if a == "-C"]
    assert options == [
        "mps3_board.visualisation.disable-visualisation=1",
        "mps3_board.telnetterminal0.start_telnet=0",
        "mps3_board.telnetterminal0.mode=raw",
        "mps3_board.uart0.unbuffered_output=1",
    ]
    assert argv[-3:] == ["--stat", "-a", str(tmp_path / "firmware.elf")]


def test_no_listening_line_times_out_showing_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fvp, "LISTEN_TIMEOUT", 1.0)
    exe = fake_fvp(tmp_path, "echo 'Info: licence checked'\nexec sleep 30")
    target = target_for(exe, tmp_path)
    with pytest.raises(TargetError) as info:
        target.start()
    text = str(info.value)
    assert "did not print 'telnetterminal0: Listening for serial connection on port N'" in text
    assert "within 1 s" in text and "Info: licence checked" in text
    assert target.child is None  # stopped


def test_an_fvp_that_exits_early_is_reported(tmp_path: Path) -> None:
    exe = fake_fvp(tmp_path, "echo 'Error: no licence'\nexit 3")
    with pytest.raises(
        TargetError,
        match=r"exited with status 3 before announcing UART0's port:"
        r"\nError: no licence",
    ):
        target_for(exe, tmp_path).start()


def test_statistics_are_kept_at_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake announces a port nothing listens on; connecting fails, the
    target stops the FVP (SIGINT) and keeps what --stat printed."""
    monkeypatch.setattr(fvp, "CONNECT_TIMEOUT", 0.5)
    exe = fake_fvp(
        tmp_path,
        'trap \'echo "--- FAKE statistics: ---"; echo "Wall time 1s"; exit 0\' INT\n'
        "echo 'telnetterminal0: Listening for serial connection on port 9'\n"
        "while :; do sleep 0.1; done",
    )
    target = target_for(exe, tmp_path)
    with pytest.raises(TargetError, match=r"cannot connect to the FVP's UART0 at socket://"):
        target.start()
    assert target.last_statistics == "--- FAKE statistics: ---\nWall time 1s"
    assert "FVP statistics at exit" in target.diagnostics()

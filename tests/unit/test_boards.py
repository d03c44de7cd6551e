from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hil.boards import list_boards, load_board, resolve
from hil.errors import BoardFileError, TargetError

GOOD = """
name = "x"
core = "cortex-m4"
clock_hz = 25000000
[firmware]
port = "mps2"
cflags = ["-mcpu=cortex-m4"]
[backends]
order = ["qemu"]
[backends.qemu]
machine = "mps2-an386"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.toml"
    path.write_text(text)
    return path


def test_shipped_boards_load() -> None:
    names = {b.name for b in list_boards()}
    assert {"corstone300", "mps2-an386"} <= names
    board = load_board("corstone300")
    assert board.core == "cortex-m55" and board.backend_order == ("fvp", "qemu")


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(BoardFileError, match=r"no board named 'nope'.*corstone300"):
        load_board("nope")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('core = "cortex-m4"\n', ""), r"core: missing \(required\)"),
        (
            lambda t: t.replace("clock_hz = 25000000", 'clock_hz = "fast"'),
            r"clock_hz: expected int, got str 'fast'",
        ),
        (
            lambda t: t.replace("clock_hz = 25000000", "clock_hz = true"),
            r"clock_hz: expected int, got bool",
        ),
        (lambda t: t.replace("clock_hz = 25000000", "clock_hz = 0"), r"clock_hz: must be positive"),
        (lambda t: t.replace('order = ["qemu"]', 'order = ["jtag"]'), r"unknown backend 'jtag'"),
        (lambda t: t.replace('machine = "mps2-an386"', ""), r"backends\.qemu\.machine: missing"),
        (
            lambda t: t.replace('cflags = ["-mcpu=cortex-m4"]', "cflags = [1]"),
            r"firmware\.cflags: expected a list of strings",
        ),
        (lambda t: t + "\n[[[", r"not valid TOML"),
    ],
)
def test_bad_board_files_name_the_field(tmp_path: Path, edit, message: str) -> None:
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(BoardFileError, match=message) as info:
        load_board(path)
    assert str(path) in str(info.value)


def fake_fvp(directory: Path, name: str) -> None:
    """A stand-in FVP executable: resolution only needs it to exist on PATH."""
    exe = directory / name
    exe.write_text("#!/bin/sh\necho fake FVP\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def test_corstone300_prefers_an_fvp_on_path(tmp_path: Path, monkeypatch) -> None:
    fake_fvp(tmp_path, "FVP_Corstone_SSE-300_Ethos-U55")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("HIL_FVP", raising=False)
    res = resolve(load_board("corstone300"))
    assert res.backend == "fvp"
    assert res.describe().startswith("corstone300 -> fvp FVP_Corstone_SSE-300_Ethos-U55")


def test_corstone300_falls_back_to_qemu_and_says_why(monkeypatch) -> None:
    monkeypatch.delenv("HIL_FVP", raising=False)
    no_fvp = [
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if not list(Path(p).glob("FVP_Corstone_SSE-300*"))
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(no_fvp))
    res = resolve(load_board("corstone300"))
    assert res.describe() == "corstone300 -> qemu mps3-an547 (no FVP on PATH)"


def test_forcing_a_backend_the_board_lacks_fails() -> None:
    with pytest.raises(TargetError, match="mps2-an386 has no 'fvp' backend"):
        resolve(load_board("mps2-an386"), forced="fvp")


def test_no_backend_installed_is_explained(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HIL_FVP", raising=False)
    with pytest.raises(TargetError, match="no FVP on PATH; no qemu-system-arm on PATH"):
        resolve(load_board("corstone300"))


def test_eembc_images_resolve_beside_the_board_file(tmp_path: Path) -> None:
    board = load_board(
        write(
            tmp_path,
            'protocol = "eembc"\n' + GOOD + '[eembc]\nimages = { kws = "img/kws.elf" }\n'
            'model_ids = { kws = "kws01" }\n',
        )
    )
    assert board.eembc_images == {"kws": tmp_path / "img" / "kws.elf"}
    assert board.eembc_model_ids == {"kws": "kws01"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + '[eembc]\nimages = { kws = "k.elf" }\n', 'only for boards with protocol = "eembc"'),
        ('protocol = "eembc"\n' + GOOD + "[eembc]\nimage = 1\n", "eembc: unknown keys image"),
        (
            'protocol = "eembc"\n' + GOOD + "[eembc]\nimages = { kws = 3 }\n",
            "eembc.images.kws: expected str",
        ),
        (
            'protocol = "eembc"\n' + GOOD + '[eembc]\nmodel_ids = { kws = "kws01" }\n',
            "eembc.model_ids.kws: no image for this model",
        ),
    ],
)
def test_bad_eembc_tables_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BoardFileError, match=message):
        load_board(write(tmp_path, text))

"""Board files' [memory], [serial] and pyOCD tables, and ports' port.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hil.boards import load_board
from hil.errors import BoardFileError, BuildError
from hil.firmware.build import port_folders

BASE = """
name = "x"
core = "cortex-m4"
clock_hz = 64000000
[firmware]
port = "nrf52840-dk"
cflags = ["-mcpu=cortex-m4"]
[memory.code]
base = 0x0
size = 0x100000
[[memory.ram]]
name = "RAM"
base = 0x20000000
size = 0x40000
[backends]
order = ["pyocd"]
[backends.pyocd]
target = "nrf52840"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


def test_memory_map_is_read(tmp_path: Path) -> None:
    board = load_board(write(tmp_path, BASE))
    assert board.memory is not None
    assert (board.memory.code.base, board.memory.code.size) == (0, 0x100000)
    (ram,) = board.memory.ram
    assert ram.describe() == "RAM 0x20000000..0x20040000 (262,144 B)"
    assert board.memory.region_of(0x2003FFFC, 4) == ram
    assert board.memory.region_of(0x2003FFFC, 8) is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("size = 0x100000", 'size = "1M"'),
            r"memory\.code\.size: expected int",
        ),
        (
            lambda t: t.replace('name = "RAM"\n', "").replace("base = 0x20000000", "base = 0x0"),
            r"RAM ram0 0x00000000\.\.0x00040000 .* overlaps code",
        ),
        (lambda t: t.replace("size = 0x40000", "size = 0"), r"memory\.ram\[0\]\.size: region"),
        (lambda t: t.replace('target = "nrf52840"', ""), r"backends\.pyocd\.target: missing"),
        (lambda t: t + "\n[serial]\nport = 3\n", r"serial\.port: expected str"),
    ],
)
def test_bad_tables_name_the_field(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(BoardFileError, match=message):
        load_board(write(tmp_path, edit(BASE)))


def test_ports_list_their_shared_folders() -> None:
    names = [p.name for p in port_folders(load_board("nucleo-l4r5zi"))]
    assert names == ["common", "dwt", "stm32", "nucleo-l4r5zi"]
    assert [p.name for p in port_folders(load_board("corstone300"))] == [
        "common",
        "cmsdk",
        "systick",
        "sse300",
    ]


def test_a_port_using_a_missing_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "firmware" / "ports", home / "firmware" / "ports"
    )
    board = load_board("mps2-an386")
    monkeypatch.setenv("HIL_HOME", str(home))
    (home / "firmware" / "ports" / "mps2" / "port.toml").write_text('uses = ["cmsdk", "usb"]\n')
    with pytest.raises(BuildError, match=r"port\.toml: uses: no shared port folder 'usb'"):
        port_folders(board)

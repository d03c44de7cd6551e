"""Which transport a device is driven over, and why: the board file's [link]
transports, the fastest the resolved backend can use, a forced one; results
name the transport used, and baselines compare like with like."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hil.boards import Resolution, load_board
from hil.errors import BoardFileError, HilError
from hil.results.junit import junit_properties
from hil.results.regressions import compare_rows
from hil.targets.transport import choose_transport
from tests.e2e.helpers import REPO, pytest_args, run_child
from tests.unit.test_baselines import fixed, row
from tests.unit.test_boards import GOOD, write


def resolution(board: str, backend: str) -> Resolution:
    return Resolution(load_board(board), backend, "/bin/true", "detail", "test")


def test_qemu_boards_default_to_memory_and_say_why() -> None:
    for name in ("corstone300", "mps2-an386", "mps2-an500", "mps2-an505"):
        choice = choose_transport(resolution(name, "qemu"))
        assert choice.transport == "memory", name
        assert choice.describe() == "memory (the board's fastest of memory, serial)"


def test_a_forced_transport_wins() -> None:
    res = resolution("corstone300", "qemu")
    assert choose_transport(res, "serial").describe() == "serial (requested)"
    assert choose_transport(res, "memory").describe() == "memory (requested)"
    with pytest.raises(HilError, match="unknown transport 'rtt'"):
        choose_transport(res, "rtt")


def test_without_a_debug_port_the_default_is_serial() -> None:
    # corstone300 lists memory, but an FVP has no debug port hil reaches the mailbox on.
    fvp = choose_transport(resolution("corstone300", "fvp"))
    assert fvp.describe() == "serial (the fvp backend has no debug port hil can use)"
    # A real board whose port has no mailbox (nrf52840-dk) lists only serial.
    probe = choose_transport(resolution("nrf52840-dk", "pyocd"))
    assert probe.describe() == "serial (the board's only transport)"
    forced = choose_transport(resolution("nrf52840-dk", "pyocd"), "memory")
    assert forced.describe() == "serial (memory requested, but the board lists no memory transport)"
    eembc = choose_transport(resolution("corstone300-eembc", "qemu"), "memory")
    assert eembc.transport == "serial" and "eembc protocol runs over the UART only" in eembc.reason


def test_board_file_transports_and_baud(tmp_path: Path) -> None:
    board = load_board(write(tmp_path, GOOD))
    assert board.transports == ("serial",) and board.baud == 115200
    text = GOOD + '[link]\nbaud = 921600\ntransports = ["serial", "memory"]\n'
    board = load_board(write(tmp_path, text))
    assert board.transports == ("serial", "memory") and board.baud == 921600
    # Listed order does not matter: the fastest available is the default.
    res = Resolution(board, "qemu", "/bin/true", "detail", "test")
    assert choose_transport(res).transport == "memory"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ('transports = ["rtt"]', "link.transports: unknown transport 'rtt'"),
        ("transports = []", "link.transports: empty"),
        ("transports = 1", "link.transports: expected list"),
        ("baud = 0", "link.baud: must be positive"),
    ],
)
def test_bad_link_tables_name_the_field(tmp_path: Path, link: str, message: str) -> None:
    with pytest.raises(BoardFileError, match=re.escape(message)):
        load_board(write(tmp_path, GOOD + f"[link]\n{link}\n"))


def test_memory_only_without_a_debug_port_is_an_error(tmp_path: Path) -> None:
    board = load_board(write(tmp_path, GOOD + '[link]\ntransports = ["memory"]\n'))
    res = Resolution(board, "fvp", "/bin/true", "detail", "test")
    with pytest.raises(HilError, match=r'lists only memory.*add "serial"'):
        choose_transport(res)


def test_results_name_the_transport() -> None:
    props = dict(junit_properties(row("run-01", transport_used="memory")))
    assert props["hil_transport"] == "memory"


def test_baselines_compare_like_transports() -> None:
    """As with engines: a memory row is judged against memory rows only; a
    row stored before the choice (no transport) counts as serial."""
    rows = [
        row("run-01", median=5000.0),  # stored before hil had a choice: serial
        row("run-02", median=9000.0, transport_used="memory"),
        row("run-03", median=9000.0, transport_used="serial"),
    ]
    (memory,) = compare_rows(rows, run_id="run-02", thresholds=fixed()).findings
    assert memory.baseline is None and not memory.regressed  # no earlier memory row
    (serial,) = compare_rows(rows, run_id="run-03", thresholds=fixed()).findings
    assert serial.baseline is not None and serial.baseline["run_id"] == "run-01"
    assert serial.regressed  # 9,000 against serial's 5,000


HEADER_SUITE = """
def test_board(board):
    pass
"""


@pytest.mark.parametrize(
    ("options", "line"),
    [
        ((), "hil: transport memory (the board's fastest of memory, serial)"),
        (("--hil-transport=serial",), "hil: transport serial (requested)"),
    ],
)
def test_the_session_header_says_which_transport_and_why(
    tmp_path: Path, options: tuple[str, ...], line: str
) -> None:
    suite = tmp_path / "test_header.py"
    suite.write_text(HEADER_SUITE)
    proc = run_child(pytest_args(str(suite), "--board=mps2-an386", "--co", *options), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert line in proc.stdout.splitlines()

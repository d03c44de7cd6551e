"""The board file's [firmware] marker_pin reaches the firmware build as port
and pin numbers; a pin hil cannot read is refused, naming the board."""

from __future__ import annotations

import dataclasses

import pytest

from hil.boards import load_board
from hil.errors import BuildError
from hil.firmware.build import marker_defines


@pytest.mark.parametrize(
    ("pin", "port", "number"),
    [("PC7", 2, 7), ("PB0", 1, 0), ("PK15", 10, 15), ("P1.01", 1, 1), ("P0.6", 0, 6)],
)
def test_marker_pin_becomes_port_and_pin(pin: str, port: int, number: int) -> None:
    board = dataclasses.replace(load_board("nucleo-l4r5zi"), marker_pin=pin)
    assert marker_defines(board) == (f"-DHIL_MARKER_PORT={port}", f"-DHIL_MARKER_PIN={number}")


def test_no_marker_pin_no_defines() -> None:
    assert marker_defines(load_board("corstone300")) == ()


@pytest.mark.parametrize("pin", ["C7", "PZ1", "P1_01", "PC123", "gpio7"])
def test_unreadable_marker_pin_is_refused(pin: str) -> None:
    board = dataclasses.replace(load_board("nucleo-l4r5zi"), marker_pin=pin)
    with pytest.raises(BuildError, match=rf"board nucleo-l4r5zi: \[firmware\] marker_pin '{pin}'"):
        marker_defines(board)

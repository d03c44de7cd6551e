"""pytest option for the transport hil drives devices over: `--hil-transport
serial|memory` forces one; else each board's fastest (hil.targets.transport).
The choice per board (per rack instance) is made once at configure time and
shown in the header; each result names the transport actually used."""

from __future__ import annotations

import pytest

from hil.boards.board import TRANSPORTS
from hil.boards.resolve import Resolution
from hil.pytestplugin.options import hil_group, usage_errors
from hil.targets.transport import TransportChoice, choose_transport

CHOICES = pytest.StashKey[dict[str, TransportChoice]]()


def add_options(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--hil-transport",
        choices=TRANSPORTS,
        default=None,
        help="how the host moves models, inputs and outputs: the UART (serial) or target RAM "
        "through the debug port (memory); default: the fastest the board has",
    )


def _key(resolution: Resolution) -> str:
    return resolution.instance or resolution.board.name


def configure(config: pytest.Config, resolutions: list[Resolution]) -> None:
    requested = config.getoption("hil_transport")
    config.stash[CHOICES] = {_key(r): choose_transport(r, requested) for r in resolutions}


def transport_for(config: pytest.Config, resolution: Resolution) -> str:
    """What the board's devices are asked to use (they may still fall back)."""
    choice = config.stash.get(CHOICES, {}).get(_key(resolution))
    if choice is None:
        choice = choose_transport(resolution, config.getoption("hil_transport"))
    return choice.transport


def header(config: pytest.Config) -> list[str]:
    choices = config.stash.get(CHOICES, {})
    lines = {f"hil: transport {c.describe()}" for c in choices.values()}
    if len(lines) <= 1:
        return sorted(lines)
    return [f"hil: {name} transport {c.describe()}" for name, c in choices.items()]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_hil_boards(config: pytest.Config, resolutions: list[Resolution]) -> None:
    with usage_errors():
        configure(config, resolutions)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header(config)

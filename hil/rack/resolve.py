"""Turn a rack instance into what runs it: its board with the instance's probe,
UART port and serial link applied, and the backend chosen now (or why none)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hil.boards.board import Board, load_board
from hil.boards.resolve import Resolution, resolve
from hil.errors import HilError, TargetError
from hil.rack.rack import Instance
from hil.rack.serial_match import find_port, parse_serial_match

EMULATORS = ("qemu", "fvp")


@dataclass(frozen=True)
class RackEntry:
    """A rack instance as this run sees it."""

    instance: Instance
    resolution: Resolution | None  # None: it cannot run now (see problem)
    problem: str = ""
    # What hil opens for the UART instead of the backend's own; it is also the
    # board's [serial] url, which every target honours (hil.targets.base.link_url).
    link_url: str = ""

    @property
    def name(self) -> str:
        return self.instance.name

    @property
    def backend(self) -> str:
        return self.resolution.backend if self.resolution else "none"

    def describe(self) -> str:
        if self.resolution is None:
            return f"{self.name} [{self.instance.board}] -> not available: {self.problem}"
        via = f"; serial {self.link_url}" if self.link_url else ""
        return self.resolution.describe() + via


def _with_tables(board: Board, inst: Instance, link: str) -> Board:
    backends = {k: dict(v) for k, v in board.backends.items()}
    serial: dict[str, Any] = dict(board.serial)
    if inst.probe and not inst.remote_probe:
        backends.setdefault("pyocd", {})["unique_id"] = inst.probe
    if inst.uart_port and "qemu" in backends:
        backends["qemu"]["uart_port"] = inst.uart_port
    if link:
        serial = {"url": link}
    return dataclasses.replace(board, backends=backends, serial=serial)


def resolve_instance(inst: Instance, ports: Sequence[Any] | None = None) -> RackEntry:
    """The instance's board and backend now; a problem instead if it cannot run."""
    try:
        board = load_board(inst.board)
        link = find_port(parse_serial_match(inst.serial), ports) if inst.serial else ""
    except (HilError, ValueError) as exc:
        return RackEntry(inst, None, f"serial {inst.serial!r}: {exc}")
    board = _with_tables(board, inst, link)
    forced = inst.backend or ("pyocd" if inst.probe else None)
    remote = inst.remote_probe
    if remote is not None:
        if not link:
            return RackEntry(
                inst,
                None,
                f'probe {inst.probe} is remote: name its UART with serial = "rfc2217://HOST:PORT"',
                link,
            )
        target = board.backend("pyocd").get("target", "?")
        res = Resolution(
            board,
            "pyocd",
            inst.probe,
            f"{target} via {inst.probe}",
            "pyOCD probe server named by the rack",
            inst.name,
        )
        return RackEntry(inst, res, "", link)
    try:
        res = resolve(board, forced)
    except TargetError as exc:
        return RackEntry(inst, None, str(exc), link)
    return RackEntry(inst, dataclasses.replace(res, instance=inst.name), "", link)

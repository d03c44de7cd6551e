"""Which transport a device is driven over, and why: the UART ("serial") or
target RAM through the debug port ("memory", docs/memory-transport.md).

A board file lists the transports the board has (`[link] transports`); the
default is the fastest of them that the resolved backend can use now. A
request (`--hil-transport`, `hil run --transport`) forces one; asking for
memory where there is no debug port gives serial, and the reason says so.
What was chosen may still fall back at run time (the debug port refuses):
the device's `transport_used` names what actually runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hil.boards.board import TRANSPORTS
from hil.boards.resolve import Resolution
from hil.errors import HilError

# Backends hil reaches the mailbox on: QEMU's gdbstub, and a real board's
# debug probe through pyOCD. (An FVP's debug interface is not wired to it.)
MEMORY_BACKENDS = ("qemu", "pyocd")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransportChoice:
    transport: str  # "memory" | "serial"
    reason: str

    def describe(self) -> str:
        return f"{self.transport} ({self.reason})"


def _no_memory(resolution: Resolution) -> str:
    """Why RESOLUTION cannot use the memory transport; "" if it can."""
    board = resolution.board
    if "memory" not in board.transports:
        return "the board lists no memory transport"
    if board.protocol != "hil":
        return f"the {board.protocol} protocol runs over the UART only"
    if resolution.backend not in MEMORY_BACKENDS:
        return f"the {resolution.backend} backend has no debug port hil can use"
    return ""


def choose_transport(resolution: Resolution, requested: str | None = None) -> TransportChoice:
    """The transport for RESOLUTION: REQUESTED if it can run it, else the
    board's fastest available one."""
    if requested is not None and requested not in TRANSPORTS:
        raise HilError(f"unknown transport {requested!r} (known: {', '.join(TRANSPORTS)})")
    missing = _no_memory(resolution)
    if requested == "serial":
        return TransportChoice("serial", "requested")
    if requested == "memory":
        if missing:
            return TransportChoice("serial", f"memory requested, but {missing}")
        return TransportChoice("memory", "requested")
    listed = ", ".join(resolution.board.transports)
    if not missing:
        return TransportChoice("memory", f"the board's fastest of {listed}")
    if "serial" not in resolution.board.transports:
        raise HilError(
            f"board {resolution.board.name} lists only {listed}, and {missing}: "
            'add "serial" to its [link] transports'
        )
    if "memory" in resolution.board.transports:
        return TransportChoice("serial", missing)
    return TransportChoice("serial", "the board's only transport")


def device_transport(resolution: Resolution, requested: str | None) -> TransportChoice:
    """choose_transport for a device about to start; a request it cannot
    honour is logged, one line, as the serial link it gets instead."""
    choice = choose_transport(resolution, requested)
    if requested is not None and choice.transport != requested:
        log.warning("%s: transport %s", resolution.board.name, choice.describe())
    return choice

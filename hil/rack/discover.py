"""`hil boards --discover`: propose rack entries (TOML) for the debug probes
and serial ports attached now."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.boards.board import Board
from hil.boards.probes import ProbeInfo, matches

BY_ID = Path("/dev/serial/by-id")


def _by_id_links(directory: Path = BY_ID) -> dict[str, str]:
    """Real device -> its stable /dev/serial/by-id/ name."""
    try:
        links = list(directory.iterdir())
    except OSError:
        return {}
    return {os.path.realpath(p): str(p) for p in links}


def usb_ports(ports: Sequence[Any]) -> list[Any]:
    """The USB serial ports (a board's VCP); not the platform's built-in UARTs
    (/dev/ttyS*), which list_ports also reports."""
    return [p for p in ports if getattr(p, "vid", None) is not None]


def _name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower() or "board"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _same_serial(port: Any, unique_id: str) -> bool:
    from hil.targets.pyocd import _same_serial as same

    return same(getattr(port, "serial_number", None), unique_id)


def _serial_of(port: Any, by_id: dict[str, str]) -> str:
    """The most stable way to name a port: its USB serial number, its by-id
    link, VID:PID, else the device path."""
    if getattr(port, "serial_number", None):
        return str(port.serial_number)
    link = by_id.get(os.path.realpath(str(port.device)))
    if link:
        return link
    vid, pid = getattr(port, "vid", None), getattr(port, "pid", None)
    if vid is not None and pid is not None:
        return f"{vid:04x}:{pid:04x}"
    return str(port.device)


def propose(
    probes: Sequence[ProbeInfo],
    ports: Sequence[Any],
    boards: Sequence[Board],
    by_id: dict[str, str] | None = None,
) -> str:
    """TOML [[instance]] tables for every probe (with its serial port, if one
    has the probe's USB serial number) and every other serial port; "" if
    nothing is attached. Entries whose board type cannot be told are commented
    out for a person to finish."""
    by_id = _by_id_links() if by_id is None else by_id
    taken: set[str] = set()
    used_ports: set[str] = set()
    blocks: list[str] = []
    pyocd_boards = [b for b in boards if "pyocd" in b.backend_order]
    for probe in probes:
        candidates = [b.name for b in pyocd_boards if matches(b, probe)]
        port = next((p for p in ports if _same_serial(p, probe.unique_id)), None)
        lines = [f"# probe {probe.describe()}"]
        if port is not None:
            used_ports.add(str(port.device))
            lines.append(f"# serial port {port.device} belongs to it")
        board = candidates[0] if len(candidates) == 1 else ""
        if len(candidates) > 1:
            lines.append(f"# could be any of: {', '.join(candidates)}; pick one")
        elif not candidates:
            lines.append("# no board file matches this probe; name the board type")
        body = [
            "[[instance]]",
            f"name = {_quote(_name(board or probe.product or probe.unique_id, taken))}",
            f"board = {_quote(board or '?')}",
            f"probe = {_quote(probe.unique_id)}",
        ]
        if port is not None:
            body.append(f"serial = {_quote(_serial_of(port, by_id))}")
        body.append("tags = []")
        prefix = "" if board else "# "
        blocks.append("\n".join(lines + [prefix + line for line in body]))
    for port in ports:
        if str(port.device) in used_ports:
            continue
        desc = getattr(port, "description", "") or ""
        body = [
            "[[instance]]",
            f"name = {_quote(_name(desc or str(port.device), taken))}",
            'board = "?"',
            f"serial = {_quote(_serial_of(port, by_id))}",
            "tags = []",
        ]
        blocks.append(
            "\n".join(
                [
                    f"# serial port {port.device} ({desc or 'no description'}), no probe: "
                    "name its board type (and its probe, if any)"
                ]
                + ["# " + line for line in body]
            )
        )
    return "\n\n".join(blocks) + ("\n" if blocks else "")

"""A rack instance's `serial` field: which host serial port (or URL) reaches
the board. Forms: a URL pyserial opens (rfc2217://host:port, socket://host:port),
a device path (/dev/serial/by-id/...), a USB VID:PID, or a USB serial number."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hil.errors import TargetError

VID_PID_RE = re.compile(r"^(?P<vid>[0-9a-fA-F]{4}):(?P<pid>[0-9a-fA-F]{4})$")
NETWORK_SCHEMES = ("rfc2217", "socket")
CONNECT_TIMEOUT = 2.0


@dataclass(frozen=True)
class SerialMatch:
    kind: str  # "url" | "path" | "vid_pid" | "serial_number"
    text: str

    @property
    def address(self) -> tuple[str, int] | None:
        """host and port of a network URL."""
        if self.kind != "url":
            return None
        parts = urlsplit(self.text)
        if parts.scheme not in NETWORK_SCHEMES or parts.hostname is None or parts.port is None:
            return None
        return parts.hostname, parts.port


def parse_serial_match(text: str) -> SerialMatch:
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme in NETWORK_SCHEMES:
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or port is None:
                raise ValueError(f"{text!r}: expected {parts.scheme}://HOST:PORT")
        return SerialMatch("url", text)
    if text.startswith("/"):
        return SerialMatch("path", text)
    if VID_PID_RE.match(text):
        return SerialMatch("vid_pid", text.lower())
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"{text!r}: not a URL, a device path, VID:PID or a USB serial number")
    return SerialMatch("serial_number", text)


def _port_label(p: Any) -> str:
    vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
    usb = f" {vid:04x}:{pid:04x}" if vid is not None and pid is not None else ""
    return f"{p.device} (serial {getattr(p, 'serial_number', None)}{usb})"


def _comports() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def find_port(match: SerialMatch, ports: Sequence[Any] | None = None) -> str:
    """What to open for `match`: the URL or path itself, or the one attached
    port with that VID:PID or USB serial number."""
    if match.kind in ("url", "path"):
        return match.text
    ports = _comports() if ports is None else list(ports)
    if match.kind == "vid_pid":
        vid, pid = (int(x, 16) for x in match.text.split(":"))
        mine = [
            p for p in ports if (getattr(p, "vid", None), getattr(p, "pid", None)) == (vid, pid)
        ]
        what = f"USB VID:PID {match.text}"
    else:
        from hil.targets.pyocd import _same_serial  # J-Link pads its VCP's number

        mine = [p for p in ports if _same_serial(getattr(p, "serial_number", None), match.text)]
        what = f"USB serial number {match.text}"
    if len(mine) == 1:
        return str(mine[0].device)
    seen = ", ".join(_port_label(p) for p in ports) or "none"
    if not mine:
        raise TargetError(f"no serial port has {what}; ports found: {seen}")
    raise TargetError(
        f"{len(mine)} serial ports have {what}: {', '.join(str(p.device) for p in mine)}; "
        "name the port by /dev/serial/by-id/... instead"
    )


def tcp_reachable(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """None if a TCP connection to host:port opens now, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


def port_reachable(match: SerialMatch, ports: Sequence[Any] | None = None) -> tuple[bool, str]:
    """Whether the serial port is present (device) or connectable (URL), and why."""
    if match.kind == "url":
        address = match.address
        if address is None:
            return True, f"{match.text} (not a network URL: not checked)"
        problem = tcp_reachable(*address)
        return (False, problem) if problem else (True, f"{match.text} accepts connections")
    if match.kind == "path":
        if ports is not None:  # a given list of ports (tests): present if listed
            listed = any(str(p.device) == match.text for p in ports)
            return (True, f"{match.text} present") if listed else (False, f"{match.text} absent")
        if not os.path.exists(match.text):
            return False, f"{match.text} does not exist"
        if not os.access(match.text, os.R_OK | os.W_OK):
            return False, f"{match.text} exists but this user cannot read and write it"
        return True, f"{match.text} present"
    try:
        device = find_port(match, ports)
    except TargetError as exc:
        return False, str(exc)
    return True, f"{device} present"

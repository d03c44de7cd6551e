"""The C headers and the Python mirror of the protocol must agree."""

from __future__ import annotations

import re

from hil.errors import Status
from hil.link.protocol import (
    CAP_DEBUG_COMMANDS,
    CRC_BYTES,
    HEADER_BYTES,
    PROTOCOL_VERSION,
    RESPONSE_BIT,
    Command,
    DebugOp,
    Event,
)
from hil.measurements.counters import CounterKind
from hil.paths import firmware_dir


def c_defines(header: str) -> dict[str, int]:
    text = (firmware_dir() / "include" / "hil" / header).read_text()
    pattern = r"#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?"
    return {m[1]: int(m[2], 0) for m in re.finditer(pattern, text)}


def test_commands_events_and_constants_match() -> None:
    d = c_defines("protocol.h")
    assert d["HIL_PROTOCOL_VERSION"] == PROTOCOL_VERSION
    assert d["HIL_HEADER_BYTES"] == HEADER_BYTES
    assert d["HIL_CRC_BYTES"] == CRC_BYTES
    assert d["HIL_RESPONSE_BIT"] == RESPONSE_BIT
    assert d["HIL_CAP_DEBUG_COMMANDS"] == CAP_DEBUG_COMMANDS
    for cmd in Command:
        assert d[f"HIL_CMD_{cmd.name}"] == cmd.value, cmd
    for evt in Event:
        assert d[f"HIL_EVT_{evt.name}"] == evt.value, evt
    for kind in CounterKind:
        assert d[f"HIL_COUNTER_{kind.name}"] == kind.value, kind
    for op in DebugOp:
        assert d[f"HIL_DEBUG_{op.name}"] == op.value, op
    c_commands = {k for k in d if k.startswith("HIL_CMD_")}
    assert c_commands == {f"HIL_CMD_{c.name}" for c in Command}


def test_status_codes_match() -> None:
    text = (firmware_dir() / "include" / "hil" / "status.h").read_text()
    c_status = {m[1]: int(m[2]) for m in re.finditer(r"HIL_(?:ERR_)?(\w+)\s*=\s*(\d+)", text)}
    assert c_status == {s.name: s.value for s in Status}

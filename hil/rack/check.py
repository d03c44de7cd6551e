"""`hil rack check`: whether each rack instance is reachable now, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hil.rack.rack import Instance
from hil.rack.resolve import EMULATORS, RackEntry, resolve_instance
from hil.rack.serial_match import parse_serial_match, port_reachable, tcp_reachable


@dataclass(frozen=True)
class Reachability:
    instance: Instance
    backend: str
    reachable: bool
    reason: str


def check_instance(inst: Instance, ports: Sequence[Any] | None = None) -> Reachability:
    """Emulators: the emulator is installed; pyOCD: a probe with that id is
    attached (or the remote probe server accepts connections); serial: the
    port is present, or its URL accepts connections."""
    entry: RackEntry = resolve_instance(inst, ports)
    if entry.resolution is None:
        return Reachability(inst, "none", False, entry.problem)
    res = entry.resolution
    reasons = []
    if res.backend in EMULATORS:
        reasons.append(f"{res.backend}: {res.executable} ({res.reason})")
    elif inst.remote_probe is not None:
        problem = tcp_reachable(*inst.remote_probe)
        if problem:
            return Reachability(inst, res.backend, False, f"probe server {inst.probe}: {problem}")
        reasons.append(f"probe server {inst.probe} accepts connections")
    else:
        reasons.append(res.reason)
    if inst.serial:
        ok, why = port_reachable(parse_serial_match(inst.serial), ports)
        if not ok:
            return Reachability(inst, res.backend, False, f"serial: {why}")
        reasons.append(f"serial: {why}")
    return Reachability(inst, res.backend, True, "; ".join(reasons))

"""`hil rack check`: whether each rack instance is reachable now, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hil.boards.board import load_board
from hil.rack.rack import Instance
from hil.rack.resolve import EMULATORS, RackEntry, resolve_instance
from hil.rack.serial_match import parse_serial_match, port_reachable, tcp_reachable


@dataclass(frozen=True)
class Reachability:
    instance: Instance
    backend: str
    reachable: bool
    reason: str


def check_instance(
    inst: Instance, ports: Sequence[Any] | None = None, coordinator: str = ""
) -> Reachability:
    """Emulators: the emulator is installed; pyOCD: a probe with that id is
    attached (or the remote probe server accepts connections); serial: the
    port is present, or its URL accepts connections; a labgrid instance: the
    coordinator has places with its tags (and says who holds them)."""
    if inst.labgrid:
        return _check_place(inst, coordinator, ports)
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


def _check_place(inst: Instance, coordinator: str, ports: Sequence[Any] | None) -> Reachability:
    """A labgrid instance's serial port and probe come from its place, so only
    the coordinator can say; an emulated board also needs its emulator here."""
    from hil.rack.labgrid_places import PlaceWatch

    watch = PlaceWatch(coordinator)
    try:
        ok, why = watch.describe(dict(inst.labgrid))
    finally:
        watch.close()
    emulated = [b for b in load_board(inst.board).backend_order if b in EMULATORS]
    if not emulated:
        return Reachability(inst, "labgrid", ok, why)
    entry = resolve_instance(inst, ports)
    if entry.resolution is None:
        return Reachability(inst, "none", False, entry.problem)
    res = entry.resolution
    reason = f"{why}; {res.backend}: {res.executable} ({res.reason})"
    return Reachability(inst, res.backend, ok, reason if ok else why)

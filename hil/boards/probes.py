"""Debug probes attached to this host (through pyOCD), and which board each
one can run. Resolution asks here whether a pyOCD board is runnable now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyocd.core.helpers import ConnectHelper

from hil.boards.board import Board
from hil.errors import TargetError


@dataclass(frozen=True)
class ProbeInfo:
    unique_id: str
    vendor: str
    product: str
    board_target: str  # the target pyOCD associates with the probe's board, or ""

    def describe(self) -> str:
        return f"{self.unique_id} ({self.vendor} {self.product})"


def _attr(probe: Any, name: str) -> str:
    try:
        return str(getattr(probe, name) or "")
    except Exception:  # a probe that cannot be queried still gets listed
        return ""


def _board_target(probe: Any) -> str:
    try:
        info = probe.associated_board_info
    except Exception:
        return ""
    return str(getattr(info, "target", "") or "") if info is not None else ""


def list_probes() -> list[ProbeInfo]:
    """Every probe pyOCD sees now, without waiting for one to appear."""
    try:
        found = ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False)
    except Exception as exc:  # USB back-ends raise their own errors
        raise TargetError(f"pyOCD could not list debug probes: {exc}") from exc
    return [
        ProbeInfo(
            unique_id=_attr(p, "unique_id"),
            vendor=_attr(p, "vendor_name"),
            product=_attr(p, "product_name"),
            board_target=_board_target(p),
        )
        for p in found
    ]


def wanted(board: Board) -> str:
    """What a probe for `board` looks like, in words."""
    pyocd = board.backend("pyocd")
    if pyocd.get("unique_id"):
        return f"probe {pyocd['unique_id']} (named by {board.path.name})"
    vendors = " or ".join(pyocd.get("probe_vendors", [])) or "any vendor"
    return f"a probe for target {pyocd.get('target')} from {vendors}"


def matches(board: Board, probe: ProbeInfo) -> bool:
    pyocd = board.backend("pyocd")
    if not pyocd:
        return False
    if pyocd.get("unique_id"):
        return bool(probe.unique_id == pyocd["unique_id"])
    if probe.board_target and probe.board_target == pyocd.get("target"):
        return True
    vendors = {v.casefold() for v in pyocd.get("probe_vendors", [])}
    return probe.vendor.casefold() in vendors


def select_probe(board: Board, probes: list[ProbeInfo] | None = None) -> tuple[ProbeInfo, str]:
    """The one attached probe that runs `board`, and why it was chosen; a
    TargetError naming what was looked for and what was found otherwise."""
    probes = list_probes() if probes is None else probes
    chosen = [p for p in probes if matches(board, p)]
    looked_for = wanted(board)
    if len(chosen) == 1:
        probe = chosen[0]
        if board.backend("pyocd").get("unique_id"):
            return probe, f"probe {probe.describe()} named by {board.path.name}"
        return probe, f"the only matching probe attached: {probe.describe()}"
    if not probes:
        raise TargetError(f"no debug probe attached (looked for {looked_for})")
    if not chosen:
        found = ", ".join(p.describe() for p in probes)
        raise TargetError(f"none of the attached probes is {looked_for}; attached: {found}")
    found = ", ".join(p.describe() for p in chosen)
    raise TargetError(
        f"{len(chosen)} probes match ({looked_for}): {found}; name one with "
        f'[backends.pyocd] unique_id = "..." in {board.path}'
    )

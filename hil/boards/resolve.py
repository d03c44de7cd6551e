"""Pick the backend a board runs on now, and say why."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from hil.boards.board import Board
from hil.errors import TargetError

QEMU_BINARY = "qemu-system-arm"


@dataclass(frozen=True)
class Resolution:
    board: Board
    backend: str  # "fvp" | "qemu" | "pyocd"
    executable: str  # what will run the firmware (path or probe)
    detail: str  # machine name, FVP name, probe id
    reason: str
    instance: str = ""  # the rack instance this resolution is for, if any

    def describe(self) -> str:
        who = f"{self.instance} [{self.board.name}]" if self.instance else self.board.name
        return f"{who} -> {self.backend} {self.detail} ({self.reason})"


def _find_fvp(board: Board) -> tuple[str | None, str]:
    override = os.environ.get("HIL_FVP")
    if override:
        path = shutil.which(override)
        return (path, f"HIL_FVP={override}") if path else (None, f"HIL_FVP={override} not found")
    for name in board.backend("fvp").get("executables", []):
        path = shutil.which(name)
        if path:
            return path, f"{name} found on PATH"
    return None, "no FVP on PATH"


def resolve(board: Board, forced: str | None = None) -> Resolution:
    """Walk the board's backend order and take the first that is installed."""
    order = board.backend_order
    if forced is not None:
        if forced not in order:
            raise TargetError(
                f"board {board.name} has no {forced!r} backend (it has: {', '.join(order)})"
            )
        order = (forced,)
    passed_over: list[str] = []
    for kind in order:
        if kind == "fvp":
            path, why = _find_fvp(board)
            if path:
                return Resolution(board, "fvp", path, os.path.basename(path), why)
            passed_over.append(why)
        elif kind == "qemu":
            machine = board.backend("qemu")["machine"]
            path = shutil.which(QEMU_BINARY)
            if path:
                why = "; ".join(passed_over) or "first choice"
                return Resolution(board, "qemu", path, machine, why)
            passed_over.append(f"no {QEMU_BINARY} on PATH (apt-get install qemu-system-arm)")
        elif kind == "pyocd":
            from hil.boards.probes import select_probe  # imports pyOCD: only when needed

            try:
                probe, why = select_probe(board)
            except TargetError as exc:
                passed_over.append(f"pyocd: {exc}")
                continue
            detail = f"{board.backend('pyocd')['target']} via {probe.unique_id}"
            return Resolution(board, "pyocd", probe.unique_id, detail, why)
    raise TargetError(f"board {board.name}: no backend can run it: {'; '.join(passed_over)}")

"""Which engine a firmware image runs, and why: hil's own interpreter, or TFLite
Micro with its reference kernels or with CMSIS-NN.

First hit wins: an explicit request (`--hil-engine`, `hil run --engine`),
HIL_ENGINE, the rack instance's `engine`, the board file's `[firmware] engine`, the project's
`[tool.hil] engine`; else TFLM with CMSIS-NN (what teams ship) where a TFLM
tree is found, and hil's engine where none is. An explicit TFLM request with
no tree is an error naming where hil looked, found before anything builds."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hil import config
from hil.boards.board import Board
from hil.firmware import tflm_tree
from hil.firmware.tflm_firmware import ENGINES, check_engine

ENV = "HIL_ENGINE"
DEFAULT_WITH_TFLM = "tflm-cmsis-nn"


@dataclass(frozen=True)
class EngineChoice:
    engine: str
    reason: str

    @property
    def kernels(self) -> str | None:
        return ENGINES[self.engine]

    def describe(self) -> str:
        return f"{self.engine} ({self.reason})"


def choose_engine(
    board: Board, requested: str | None = None, instance: tuple[str, str] = ("", "")
) -> EngineChoice:
    """`instance`: (the rack instance's engine, its name), when there is one."""
    project = config.current()
    project_engine = getattr(project, "engine", None) if project is not None else None
    for value, where in (
        (requested, "requested"),
        (os.environ.get(ENV), f"from {ENV}"),
        (instance[0] or None, f"rack instance {instance[1]}'s default"),
        (board.engine or None, f"board {board.name}'s default"),
        (project_engine, "from [tool.hil] engine"),
    ):
        if value:
            kernels = check_engine(value)
            if kernels is not None:
                checked = tflm_tree.tflm_tree()  # TflmTreeError naming the path when absent
                return EngineChoice(value, f"{where}; TFLM at {checked}")
            return EngineChoice(value, where)
    tree, source = tflm_tree.locate()
    if tree is not None and tflm_tree.available():
        return EngineChoice(DEFAULT_WITH_TFLM, f"default: TFLM found at {tree.resolve()}")
    if tree is None:
        return EngineChoice("hil", f"default: no TFLM tree ({source})")
    return EngineChoice("hil", f"default: no TFLM tree at {tree} ({source})")

"""`--engine`, `--tflm` and `--tflm-ops` for the hil commands that build firmware, and the
line that says which engine runs and why."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from hil.boards.board import Board
from hil.firmware import tflm_tree
from hil.firmware.engine_choice import EngineChoice, choose_engine
from hil.firmware.tflm_firmware import ENGINES
from hil.firmware.tflm_resolver import OPS_MODES, choose_ops_mode


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default=None,
        help="engine in the firmware (default: tflm-cmsis-nn when a TFLM tree is found, else hil)",
    )
    parser.add_argument(
        "--tflm",
        metavar="PATH",
        default=None,
        help="TensorFlow Lite Micro tree (else HIL_TFLM_DIR, [tool.hil] tflm_dir, "
        "../shared/third_party/tflite-micro)",
    )
    parser.add_argument(
        "--tflm-ops",
        choices=OPS_MODES,
        default=None,
        help="operators TFLM's resolver registers: every builtin (all), or only the model's "
        "(model: the flash a minimal resolver needs); default: the board file's "
        "[firmware] tflm_ops, else all",
    )


def engine_from_args(args: argparse.Namespace, board: Board, console: Console) -> EngineChoice:
    """The engine for BOARD; prints it. TflmTreeError (a HilError) when TFLM
    was asked for and no tree is found."""
    tflm_tree.choose(getattr(args, "tflm", None))
    choice = choose_engine(board, getattr(args, "engine", None))
    console.print(f"engine {escape(choice.describe())}", highlight=False)
    return choice


def tflm_ops_from_args(args: argparse.Namespace, board: Board) -> str:
    """The TFLM ops mode for BOARD: --tflm-ops, the board file's, else all."""
    return choose_ops_mode(getattr(args, "tflm_ops", None), board.tflm_ops)

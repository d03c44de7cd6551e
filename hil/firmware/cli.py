"""`hil firmware`: the pieces a team's own firmware links, printed for its build
file (docs/own-firmware.md): hil's agent library and the cached TFLM library
with the flags it was compiled with."""

from __future__ import annotations

import argparse
import shlex

from rich.console import Console

from hil.boards import load_board
from hil.errors import HilError
from hil.firmware import tflm_tree
from hil.firmware.agent_lib import agent_library
from hil.firmware.tflm_build import CXX_FLAGS, core_name, tflm_library
from hil.firmware.tflm_firmware import ENGINES, check_engine


def _print(console: Console, text: str) -> None:
    # One plain line a Makefile's $(shell ...) can take as it is.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def cmd_agent_lib(args: argparse.Namespace, console: Console) -> int:
    board = load_board(args.board)
    library = agent_library(board.cflags, core_name(board.cflags))
    if args.print == "cflags":
        _print(console, shlex.join([*board.cflags, f"-I{library.include}"]))
    elif args.print == "lib":
        _print(console, str(library.archive))
    else:
        _print(console, str(library.folder))
    return 0


def cmd_tflm_lib(args: argparse.Namespace, console: Console) -> int:
    board = load_board(args.board)
    kernels = check_engine(args.engine)
    if kernels is None:
        raise HilError("--engine hil has no TFLM library; give tflm or tflm-cmsis-nn")
    tflm_tree.choose(args.tflm)
    library = tflm_library(board.cflags, kernels)
    if args.print == "cflags":
        _print(console, shlex.join([*library.flags, *CXX_FLAGS]))
    else:
        _print(console, str(library.archive))
    return 0


def add_firmware_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fw = sub.add_parser("firmware", help="libraries for linking hil's agent into your own firmware")
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True)

    agent = fw_sub.add_parser(
        "agent-lib", help="build (once, cached) hil's agent library for a board's core"
    )
    agent.add_argument("--board", required=True, help="board name or board file")
    agent.add_argument(
        "--print",
        choices=("dir", "lib", "cflags"),
        default="dir",
        help="what to print: the folder with lib/ and include/ (default), the archive, or the "
        "core flags and include folder to compile against it",
    )
    agent.set_defaults(handler=cmd_agent_lib)

    tflm = fw_sub.add_parser(
        "tflm-lib", help="build (once, cached) TFLM for a board's core and print where it is"
    )
    tflm.add_argument("--board", required=True, help="board name or board file")
    tflm.add_argument(
        "--engine",
        choices=tuple(e for e in ENGINES if e != "hil"),
        default="tflm-cmsis-nn",
        help="kernel library: tflm (reference) or tflm-cmsis-nn (default)",
    )
    tflm.add_argument(
        "--tflm",
        metavar="PATH",
        default=None,
        help="TensorFlow Lite Micro tree (else HIL_TFLM_DIR, [tool.hil] tflm_dir, "
        "../shared/third_party/tflite-micro)",
    )
    tflm.add_argument(
        "--print",
        choices=("lib", "cflags"),
        default="lib",
        help="the archive (default), or the flags TFLM was compiled with (code including "
        "TFLM headers must use them)",
    )
    tflm.set_defaults(handler=cmd_tflm_lib)

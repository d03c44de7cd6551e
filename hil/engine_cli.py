"""`--engine` and `--tflm` for the hil commands that build firmware, and the
line that says which engine runs and why."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from hil.boards.board import Board
from hil.firmware import tflm_tree
from hil.firmware.engine_choice import EngineChoice, choose_engine
from hil.firmware.tflm_firmware import ENGINES


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


def engine_from_args(args: argparse.Namespace, board: Board, console: Console) -> EngineChoice:
    """The engine for BOARD; prints it. TflmTreeError (a HilError) when TFLM
    was asked for and no tree is found."""
    tflm_tree.choose(getattr(args, "tflm", None))
    choice = choose_engine(board, getattr(args, "engine", None))
    console.print(f"engine {escape(choice.describe())}", highlight=False)
    return choice


def add_compare_engines_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "compare-engines",
        help="run one model under several engines on the same inputs and compare them",
    )
    p.add_argument("model", help="a .tflite file")
    p.add_argument("--board", help="board name or board file (default: [tool.hil] board)")
    p.add_argument("--backend", choices=("qemu", "fvp", "pyocd"), default=None)
    p.add_argument(
        "--engines",
        nargs="+",
        choices=tuple(ENGINES),
        default=list(ENGINES),
        metavar="ENGINE",
        help=f"two or more of {', '.join(ENGINES)}; the first is the base of the ratios "
        "(default: all)",
    )
    p.add_argument("--tflm", metavar="PATH", default=None, help="TensorFlow Lite Micro tree")
    p.add_argument("--vectors", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float-range", nargs=2, type=float, default=(-1.0, 1.0), metavar=("LO", "HI"))
    p.add_argument("--sequence-length", type=int, default=1, metavar="L")
    p.add_argument("--transport", choices=("serial", "memory"), default="serial")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request timeout (s)")
    p.add_argument("--json", metavar="OUT", help="write the comparison as JSON")
    p.set_defaults(handler=cmd_compare_engines)


def _cell(value: float | None, base: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}{unit}"
    return f"{text} ({value / base:.2f}x)" if base else text


def cmd_compare_engines(args: argparse.Namespace, console: Console) -> int:
    import json
    from pathlib import Path

    from rich.table import Table

    from hil.boards import load_board, resolve
    from hil.compare_engines import compare_engines
    from hil.errors import HilError

    if args.vectors < 1:
        raise HilError(f"--vectors must be at least 1, got {args.vectors}")
    if any(e != "hil" for e in args.engines):
        tflm_tree.choose(args.tflm)  # no tree: one error naming where hil looked, before building
    resolution = resolve(load_board(args.board), args.backend)
    console.print(escape(resolution.describe()), highlight=False)
    cmp = compare_engines(
        resolution,
        Path(args.model),
        args.engines,
        vectors=args.vectors,
        seed=args.seed,
        float_range=tuple(args.float_range),
        sequence_length=args.sequence_length,
        timeout=args.timeout,
        transport=args.transport,
        on_engine=lambda e: console.print(f"running under {e} ...", highlight=False),
    )
    rows = [cmp.figures(e, r) for e, r in zip(cmp.engines, cmp.runs, strict=True)]
    base = rows[0]
    table = Table(title=escape(f"{Path(args.model).name} on {cmp.board}, {args.vectors} vectors"))
    table.add_column("figure")
    for row in rows:
        table.add_column(row["engine"], justify="right")
    kind = base["counter_kind"] or "counter"

    def line(label: str, key: str, unit: str = "") -> None:
        table.add_row(label, *(_cell(r[key], base[key], unit) for r in rows))

    table.add_row("firmware", *(escape(r["firmware_engine"]) for r in rows))
    table.add_row(
        "device vs TFLM host (exact)",
        *(f"{r['agreement'].get('tflm', 0)}/{r['vectors']}" for r in rows),
    )
    table.add_row(
        f"outputs identical to {base['engine']}",
        *(f"{r['identical_to_base']}/{r['vectors']}" for r in rows),
    )
    line(f"{kind} per inference (median)", "per_inference_median")
    line(f"load and prepare ({kind})", "load_and_prepare")
    line("arena used", "arena_bytes", " B")
    line(".text", "text_bytes", " B")
    line("flash (.text + .rodata + .data)", "flash_bytes", " B")
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(cmp.to_dict(), indent=2) + "\n")
        console.print(f"JSON written to {escape(args.json)}", highlight=False)
    for engine, run in zip(cmp.engines, cmp.runs, strict=True):
        if not run.passed:
            console.print(f"{engine}: {run.failure_report()}", markup=False)
    return 0 if cmp.passed else 1

"""The `hil` command: list boards, run a model on a board."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import cast

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from hil import __version__
from hil.accuracy.cli import add_accuracy_parsers
from hil.boards import Resolution, list_boards, load_board, resolve
from hil.boards.board import TRANSPORTS
from hil.case.compare_models import is_classifier
from hil.case.model_case import ModelCase
from hil.case.record import DeviceFacts
from hil.case.runner import CaseResult, case_vectors, run_case
from hil.cli_args import Parser, int_in, non_negative_float, output_file, positive_float
from hil.device.dut import create_dut
from hil.energy.plan import EnergyPlan
from hil.energy.spec import parse_meter_spec
from hil.errors import HilError
from hil.firmware import tflm_tree
from hil.firmware.cli import add_firmware_parser
from hil.firmware.engine_cli import add_engine_arguments, engine_from_args, tflm_ops_from_args
from hil.firmware.tflm_firmware import ENGINES
from hil.model.file import ModelFile
from hil.paths import board_dirs
from hil.project_cli import add_project_options, apply_project
from hil.rack.cli import add_rack_parser
from hil.reports.cli import add_report_parser
from hil.results.baseline_cli import add_baseline_parser
from hil.results.cli import add_results_parser
from hil.results.history import add_history_parser
from hil.results.recorder import Recorder
from hil.targets.transport import choose_transport

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
FIRMWARE_VARIANTS = ("release", "test")  # else `hil run --firmware` names a prebuilt image


def cmd_boards(args: argparse.Namespace, console: Console) -> int:
    if getattr(args, "discover", False):
        from hil.rack.cli import cmd_discover

        return cmd_discover(console)
    table = Table(title="hil boards")
    for column in ("board", "core", "backend now", "why", "transport"):
        table.add_column(column)
    boards = list_boards()
    if not boards:
        looked = ", ".join(str(d) for d in board_dirs())
        raise HilError(f"no board files found (looked in {looked}); see docs/configuration.md")
    for board in boards:
        try:
            res = resolve(board)
            table.add_row(
                board.name,
                board.core,
                f"{res.backend} {res.detail}",
                res.reason,
                choose_transport(res).describe(),
            )
        except HilError as exc:
            table.add_row(board.name, board.core, "none", str(exc), ", ".join(board.transports))
    console.print(table)
    return EXIT_OK


def cmd_probes(args: argparse.Namespace, console: Console) -> int:
    from hil.boards.probes import list_probes, matches  # imports pyOCD: only when needed

    probes = list_probes()
    if not probes:
        console.print("no debug probes attached")
        return EXIT_OK
    boards = [b for b in list_boards() if "pyocd" in b.backend_order]
    table = Table(title="debug probes")
    for column in ("unique id", "vendor", "product", "boards it can run"):
        table.add_column(column)
    for probe in probes:
        names = ", ".join(b.name for b in boards if matches(b, probe)) or "none"
        table.add_row(probe.unique_id, probe.vendor, probe.product, names)
    console.print(table)
    return EXIT_OK


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _bytes(value: int | None) -> str:
    return "not reported by this protocol" if value is None else f"{value:,} B"


def _summary_table(result: CaseResult) -> Table:
    table = Table(title=escape(f"{result.case.name} on {result.dut_description}"))
    table.add_column("figure")
    table.add_column("value")
    for ref in result.references:
        table.add_row(
            f"agreement vs {ref} ({result.agreement[ref]})",
            f"{result.matched(ref)}/{len(result.vectors)} vectors, "
            f"max |diff| {result.max_abs_diff(ref):g}",
        )
        if result.excused(ref):
            table.add_row(
                f"  {ref} vs tflm",
                f"{result.excused(ref)} elements where {ref} itself departs from the exact "
                "oracle beyond tolerance (not held against the device)",
            )
    for ref, reason in result.unavailable.items():
        table.add_row(escape(ref), escape(f"unavailable: {reason}"))
    counter = result.counter()
    if counter:
        table.add_row(
            f"{counter.kind} per inference",
            f"min {counter.min:,}  median {_number(counter.median)}  p90 {counter.p90:,}  "
            f"max {counter.max:,}",
        )
        identical = "identical" if counter.repeats_identical else "varying"
        table.add_row(
            "timed repeats per vector",
            f"{counter.repeats} after {counter.warmup} warm-up ({identical})",
        )
        table.add_row("counter method", escape(counter.method))
    table.add_row("model bytes", f"{len(result.model.data):,}")
    if result.load_cost:
        table.add_row(f"load and prepare ({result.load_cost.kind})", f"{result.load_cost.value:,}")
    facts = result.facts()
    if facts:
        table.add_row("MACs per inference (model)", f"{facts.macs:,}")
        table.add_row("parameters (model)", f"{facts.params:,} ({facts.param_bytes:,} B)")
    for name, figure in (result.efficiency() or {}).items():
        derived = name.startswith("macs_per_") or name == "arena_bytes_per_param"
        if derived and figure.get("value") is not None:
            table.add_row(name.replace("_", " "), f"{figure['value']:.4g} {figure['unit']}")
    if result.footprint:
        fp = result.footprint
        ops = f", TFLM ops {fp.tflm_ops}" if fp.tflm_ops else ""
        table.add_row(
            f"firmware flash (ELF{ops})",
            f"{fp.flash:,} B (text {fp.text:,}, rodata {fp.rodata:,}, data {fp.data:,})",
        )
        table.add_row("firmware static RAM (ELF)", f"{fp.static_ram:,} B (data + bss)")
    table.add_row("arena used (device)", _bytes(result.loaded.arena_used))
    if result.tflm_arena is not None:
        table.add_row("arena TFLM needs (its host interpreter)", _bytes(result.tflm_arena))
    table.add_row("stack used in inference (device)", _bytes(result.stack_bytes))
    if result.energy:
        table.add_row("energy per inference", escape(result.energy.describe()))
    else:
        table.add_row("energy per inference", escape(f"n/a: {result.energy_unavailable}"))
    table.add_row("firmware build", f"{result.firmware_build_id} ({result.firmware_variant})")
    table.add_row("engine", escape(result.engine))
    table.add_row("transport", result.transport)
    return table


def _recorder(args: argparse.Namespace) -> Recorder | None:
    return Recorder(args.store) if getattr(args, "store", None) else None


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    # The model and every input file are checked before a board, a build or an
    # emulator is touched: a hostile file costs nothing and says what is wrong.
    model = ModelFile(args.model)
    output_file(args.json, "--json")
    resolution = resolve(load_board(args.board), args.backend)
    case = ModelCase(
        model=Path(args.model),
        vectors=args.vectors if args.vectors is not None else (0 if args.inputs else 10),
        seed=args.seed,
        inputs=tuple(Path(p) for p in args.inputs),
        float_range=tuple(args.float_range),
        litert_lsb=args.litert_lsb,
        sequence_length=args.sequence_length,
    )
    vectors = case_vectors(case, model)
    console.print(f"[bold]{escape(resolution.describe())}[/bold]")
    try:
        cflags = tuple(shlex.split(args.cflags))
    except ValueError as exc:
        raise HilError(f"--cflags {args.cflags!r}: {exc}") from exc
    variant, prebuilt = args.firmware, resolution.board.firmware
    if args.firmware not in FIRMWARE_VARIANTS:
        variant, prebuilt = "release", Path(args.firmware)
    if prebuilt is not None:
        console.print(f"firmware {prebuilt} (prebuilt, not built by hil)", markup=False)
        engine = "hil"  # not built: the image's HELLO names its engine
    else:
        engine = engine_from_args(args, resolution.board, console).engine
    transport = transport_from_args(args, resolution, console)
    meter = parse_meter_spec(args.meter).create() if args.meter else None
    plan = EnergyPlan(inferences=args.energy_inferences, mlperf=args.energy_mlperf)
    with (
        create_dut(
            resolution,
            variant=variant,
            timeout=args.timeout,
            cflags=cflags,
            engine=engine,
            firmware=prebuilt,
            tflm_ops=tflm_ops_from_args(args, resolution.board),
            transport=transport,
        ) as dut,
        meter if meter is not None else contextlib.nullcontext(),
        Progress(console=console, transient=True) as progress,
    ):
        task = progress.add_task(escape(case.name), total=None)  # shown as markup
        recorder = _recorder(args)
        if recorder:  # a run of one case: complete once its row is in
            for run, state in recorder.open_run():
                console.print(
                    f"warning: earlier run {run['run_id']} is {state.describe()}", markup=False
                )
            recorder.expect(1)
        try:
            result = run_case(
                dut,
                case,
                vectors=vectors,
                litert_resolver=args.litert_resolver,
                warmup=args.warmup,
                repeats=args.repeats,
                profile=args.profile,
                on_vector=lambda n, total: progress.update(task, completed=n, total=total),
                meter=meter,
                energy_plan=plan,
            )
        except HilError as exc:
            if recorder:  # the store keeps failures too, with their status
                recorder.error(exc, case, DeviceFacts.of(dut), resolution.board.name, None)
                recorder.finish_run()
            raise
        if recorder:
            board = resolution.board.name
            recorder.result(result.record(instance=board), case, board)
            recorder.finish_run()
            recorder.close()
            console.print(
                f"result stored in {args.store} (run {recorder.run.run_id})", markup=False
            )
    console.print(_summary_table(result))
    if result.profile:
        console.print(f"per-operator profile ({result.profile.method})", highlight=False)
        console.print(result.profile.table(), markup=False, highlight=False)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        console.print(f"JSON written to {args.json}", markup=False)
    if not result.passed:
        console.print(result.failure_report(), markup=False)
        return EXIT_MISMATCH
    if result.energy_error:
        console.print(f"energy: {result.energy_error}", markup=False)
        return EXIT_ERROR
    return EXIT_OK


def add_transport_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=None,
        help="the UART (serial) or target RAM through the debug port (memory); default: the "
        "fastest the board has (docs/memory-transport.md)",
    )


def transport_from_args(args: argparse.Namespace, resolution: Resolution, console: Console) -> str:
    """The transport to ask the device for; prints it and why."""
    choice = choose_transport(resolution, args.transport)
    console.print(f"transport {escape(choice.describe())}", highlight=False)
    return choice.transport


def _fraction(text: str) -> float:
    """'2%' or '0.02' -> 0.02."""
    value = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction between 0 and 1 (or 0-100%)")
    return value


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}x"


def cmd_compare_models(args: argparse.Namespace, console: Console) -> int:
    from hil.case.compare_models import compare_models

    model_a, _ = ModelFile(args.a), ModelFile(args.b)  # both checked before any device work
    if args.max_top1_drop is not None and not is_classifier(model_a):
        shapes = ", ".join(str(list(o.shape)) for o in model_a.outputs)
        raise HilError(
            f"--max-top1-drop: {model_a.name} is not a classifier (outputs {shapes}; top-1 "
            "needs one output of more than one class): use --max-abs-error"
        )
    output_file(args.json, "--json")
    resolution = resolve(load_board(args.board), args.backend)
    console.print(f"[bold]{escape(resolution.describe())}[/bold]")
    engine = engine_from_args(args, resolution.board, console).engine
    ops = tflm_ops_from_args(args, resolution.board)
    with create_dut(resolution, timeout=args.timeout, engine=engine, tflm_ops=ops) as dut:
        cmp = compare_models(
            dut,
            Path(args.a),
            Path(args.b),
            vectors=args.vectors,
            seed=args.seed,
            float_range=tuple(args.float_range),
            litert_resolver=args.litert_resolver,
        )
    table = Table(title=escape(f"B = {cmp.b.case.name} against A = {cmp.a.case.name}"))
    table.add_column("figure")
    table.add_column("value")
    for label, res in (("A", cmp.a), ("B", cmp.b)):
        for ref in res.references:
            table.add_row(
                f"{label} device vs {ref} ({res.agreement[ref]})",
                f"{res.matched(ref)}/{len(res.vectors)} vectors",
            )
    if cmp.top1_agreement is not None:
        table.add_row("B top-1 agreement with A", f"{cmp.top1_agreement:.1%}")
    table.add_row(
        "B vs A |error| (dequantized)",
        f"max {cmp.max_abs_error:.4g}, mean {cmp.mean_abs_error:.4g}",
    )
    ratios = cmp.ratios()
    counter = cmp.a.counter()
    labels = {
        "model_bytes": "model size",
        "macs": "MACs",
        "params": "parameters",
        "arena_bytes": "arena used",
        "counter": f"{counter.kind if counter else 'counter'} per inference (median)",
        "energy": "energy per inference"
        + (" (modeled)" if cmp.a.energy and cmp.a.energy.modeled else ""),
    }
    for key, label in labels.items():
        value = _ratio(ratios[key])
        if key == "energy" and ratios[key] is None:
            value = "n/a: " + (
                cmp.a.energy_unavailable
                or cmp.b.energy_unavailable
                or "one figure is measured, the other modeled"
            )
        table.add_row(f"ratio B/A: {label}", escape(value))
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(cmp.to_dict(), indent=2, default=str) + "\n")
        console.print(f"JSON written to {args.json}", markup=False)
    failures = [
        f"{r.case.name}: device disagrees with the host" for r in (cmp.a, cmp.b) if not r.passed
    ]
    if (
        args.max_top1_drop is not None
        and cmp.top1_drop is not None
        and cmp.top1_drop > args.max_top1_drop
    ):
        failures.append(f"top-1 drop {cmp.top1_drop:.1%} exceeds {args.max_top1_drop:.1%}")
    if args.max_abs_error is not None and cmp.max_abs_error > args.max_abs_error:
        failures.append(f"max |error| {cmp.max_abs_error:.4g} exceeds {args.max_abs_error:g}")
    for failure in failures:
        console.print(f"[red]fail:[/red] {escape(failure)}", highlight=False)
    return EXIT_MISMATCH if failures else EXIT_OK


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
    p.add_argument("--vectors", type=int_in(1), default=10)
    p.add_argument("--seed", type=int_in(0), default=0)
    p.add_argument("--float-range", nargs=2, type=float, default=(-1.0, 1.0), metavar=("LO", "HI"))
    p.add_argument("--sequence-length", type=int_in(1), default=1, metavar="L")
    add_transport_argument(p)
    p.add_argument(
        "--timeout", type=positive_float, default=60.0, help="per-request timeout (s)"
    )
    p.add_argument("--json", metavar="OUT", help="write the comparison as JSON")
    p.set_defaults(handler=cmd_compare_engines)


def _cell(value: float | None, base: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}{unit}"
    return f"{text} ({value / base:.2f}x)" if base else text


def cmd_compare_engines(args: argparse.Namespace, console: Console) -> int:
    from hil.case.compare_engines import compare_engines

    output_file(args.json, "--json")
    if any(e != "hil" for e in args.engines):
        tflm_tree.choose(args.tflm)  # no tree: one error naming where hil looked, before building
    resolution = resolve(load_board(args.board), args.backend)
    console.print(escape(resolution.describe()), highlight=False)
    transport = transport_from_args(args, resolution, console)
    cmp = compare_engines(
        resolution,
        Path(args.model),
        args.engines,
        vectors=args.vectors,
        seed=args.seed,
        float_range=tuple(args.float_range),
        sequence_length=args.sequence_length,
        timeout=args.timeout,
        transport=transport,
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


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="hil", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    add_project_options(parser)
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True),
    )

    boards = sub.add_parser("boards", help="list boards and the backend each would run on now")
    boards.add_argument(
        "--discover",
        action="store_true",
        help="propose rack entries (TOML) for the attached probes and serial ports",
    )
    sub.add_parser("probes", help="list attached debug probes and the boards each can run")

    run = sub.add_parser("run", help="run a model on a board and compare with the host")
    run.add_argument("model", help="a .tflite file")
    run.add_argument("--board", help="board name or board file (default: [tool.hil] board)")
    run.add_argument("--backend", choices=("qemu", "fvp", "pyocd"), default=None)
    run.add_argument(
        "--vectors",
        type=int_in(0),
        default=None,
        help="seeded random vectors (default 10, or 0 with --inputs)",
    )
    run.add_argument("--seed", type=int_in(0), default=0)
    run.add_argument(
        "--inputs",
        nargs="+",
        default=[],
        metavar="FILE",
        help="input vectors, one file per model input: .npy holding one vector or a sequence "
        "[steps, *input shape] (a leading batch dimension of 1 may be left out), or raw .bin "
        "in its dtype; or one .npz with an array per input (named after the inputs, or "
        "arr_0, arr_1, ...). Vectors run in file order; dtypes must match the model's",
    )
    run.add_argument(
        "--float-range",
        nargs=2,
        type=float,
        default=(-1.0, 1.0),
        metavar=("LO", "HI"),
        help="range of random float inputs",
    )
    run.add_argument(
        "--litert-lsb",
        type=int_in(0),
        default=1,
        help="tolerance against LiteRT for integer outputs, in LSB",
    )
    run.add_argument("--litert-resolver", choices=("ref", "default"), default="ref")
    run.add_argument(
        "--repeats",
        type=int_in(1, 254),
        default=1,
        help="timed inferences per vector, on the same inputs (1..254)",
    )
    run.add_argument(
        "--sequence-length",
        type=int_in(1),
        default=1,
        metavar="L",
        help="stateful models: reset device and references every L vectors (default 1: "
        "before each); the vectors run in order, e.g. the frames of a .npy sequence",
    )
    run.add_argument(
        "--warmup", type=int_in(0, 65535), default=0, help="untimed inferences before them"
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="time each operator (one extra inference on the first vector)",
    )
    run.add_argument(
        "--firmware",
        default="release",
        metavar="VARIANT|ELF",
        help="hil's firmware variant to build (release, test), or a prebuilt ELF image "
        "with hil's agent linked in to flash instead (docs/own-firmware.md)",
    )
    add_engine_arguments(run)
    add_transport_argument(run)
    run.add_argument(
        "--cflags",
        default="",
        metavar="FLAGS",
        help='extra firmware compiler flags after the common ones, e.g. "-O1" (part of the '
        "build id)",
    )
    run.add_argument(
        "--meter",
        metavar="SPEC",
        help="measure energy per inference with this meter, e.g. "
        "ppk2:serial=C1234567,source_mv=3300 (docs/energy.md); else it is modeled where "
        "the board file cites figures",
    )
    run.add_argument("--energy-inferences", type=int_in(1), default=10, metavar="N")
    run.add_argument(
        "--energy-mlperf",
        action="store_true",
        help="MLPerf Tiny's method: median of 5 runs of at least 10 s of inference",
    )
    run.add_argument(
        "--timeout", type=positive_float, default=None, help="per-request timeout (s)"
    )
    run.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    run.add_argument("--store", metavar="DB", help="add the result to a results store (SQLite)")
    cmp = sub.add_parser(
        "compare-models", help="run two variants of a model on the same inputs and compare them"
    )
    cmp.add_argument("a", help="the baseline model (e.g. float)")
    cmp.add_argument("b", help="the variant (e.g. its int8 conversion)")
    add_engine_arguments(cmp)
    cmp.add_argument("--board", help="board name or board file (default: [tool.hil] board)")
    cmp.add_argument("--backend", choices=("qemu", "fvp", "pyocd"), default=None)
    cmp.add_argument("--vectors", type=int_in(1), default=100)
    cmp.add_argument("--seed", type=int_in(0), default=0)
    cmp.add_argument(
        "--float-range",
        nargs=2,
        type=float,
        default=(-1.0, 1.0),
        metavar=("LO", "HI"),
        help="real-valued input range when neither model's input is quantized",
    )
    cmp.add_argument(
        "--max-top1-drop",
        type=_fraction,
        default=None,
        metavar="PCT",
        help="fail if B's top-1 disagrees with A's on more than this (e.g. 2%%)",
    )
    cmp.add_argument(
        "--max-abs-error",
        type=non_negative_float,
        default=None,
        metavar="X",
        help="fail if B's dequantized outputs stray more than X from A's",
    )
    cmp.add_argument("--litert-resolver", choices=("ref", "default"), default="ref")
    cmp.add_argument("--timeout", type=positive_float, default=None)
    cmp.add_argument("--json", metavar="OUT")
    add_compare_engines_parser(sub)
    add_rack_parser(sub)
    add_results_parser(sub)
    add_baseline_parser(sub)
    add_history_parser(sub)
    add_report_parser(sub)
    add_accuracy_parsers(sub)  # hil eval, hil variants
    add_firmware_parser(sub)  # hil firmware agent-lib, tflm-lib
    return parser


def _error_line(exc: BaseException) -> str:
    """One line for an error that ends a command: hil's own errors say what to do;
    a file the OS refused names the file; anything else is a bug in hil, named as
    one (HIL_DEBUG=1 shows its traceback)."""
    if isinstance(exc, HilError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (an input larger than the host can hold?)"
    return f"internal error in hil: {type(exc).__name__}: {exc} (HIL_DEBUG=1 shows where)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        apply_project(args)  # [tool.hil] of the project around the current directory
        if hasattr(args, "handler"):  # hil rack, results, baseline, history, report
            return int(args.handler(args, console))
        if args.command == "probes":
            return cmd_probes(args, console)
        if args.command == "boards":
            return cmd_boards(args, console)
        if args.command == "compare-models":
            return cmd_compare_models(args, console)
        return cmd_run(args, console)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except Exception as exc:  # every error is one line and exit 2, never a traceback
        if os.environ.get("HIL_DEBUG") and not isinstance(exc, HilError):
            raise
        # soft_wrap: an error message stays one searchable line, whatever the width
        line = str(exc) if isinstance(exc, HilError) else " ".join(_error_line(exc).split())
        console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

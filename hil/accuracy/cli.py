"""`hil eval MODEL --dataset D` and `hil variants BASE VARIANT... --dataset D`:
accuracy on the device and the host references, the variants table, budgets
as gates (exit 1 when broken, 2 on bad usage)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hil.accuracy.budgets import Budgets, Verdict, judge
from hil.accuracy.dataset import Dataset, load_dataset, parse_shard
from hil.accuracy.evaluate import TASKS, Evaluation, evaluate
from hil.accuracy.variants import COLUMNS, cell, variants_table
from hil.boards import load_board, resolve
from hil.cli_args import int_in, output_file, positive_float
from hil.device.dut import create_dut
from hil.errors import HilError
from hil.model.file import ModelFile

EXIT_OK, EXIT_FAIL = 0, 1


def _scale(text: str) -> float:
    try:
        if "/" in text:
            num, den = text.split("/")
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a fraction") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help=".npz (x, y) or a folder with y_labels.csv")
    p.add_argument("--board", help="board name or board file (default: [tool.hil] board)")
    p.add_argument("--backend", choices=("qemu", "fvp", "pyocd"), default=None)
    p.add_argument("--shard", default=None, metavar="K/N", help="evaluate shard K of N only")
    p.add_argument("--limit", type=int_in(1), default=None, metavar="N",
                   help="first N samples only")
    p.add_argument("--task", choices=TASKS, default="auto")
    p.add_argument("--top-k", type=int_in(1), nargs="+", default=[1], metavar="K")
    p.add_argument("--input-scale", type=_scale, default=None, metavar="S",
                   help="multiply integer data of another dtype by S (e.g. 1/255) first")
    p.add_argument("--bin-dtype", default=None, help="dtype of raw .bin samples (default int8)")
    p.add_argument("--class-names", default=None, metavar="FILE")
    p.add_argument("--litert-resolver", choices=("ref", "default"), default="ref")
    p.add_argument("--timeout", type=positive_float, default=None)
    p.add_argument("--json", metavar="OUT", help="write every figure as JSON")
    p.add_argument("--store", metavar="DB", help="keep the evaluation in a results store, "
                   "a row per chunk of samples")


def _budget_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-accuracy-drop", metavar="PTS", help="in points against the baseline, "
                   "e.g. 2%%")
    p.add_argument("--max-arena", metavar="SIZE", help="e.g. 256KiB")
    p.add_argument("--max-flash", metavar="SIZE")
    p.add_argument("--max-latency", metavar="TIME", help="e.g. 5ms (needs a cycle counter)")
    p.add_argument("--max-energy", metavar="ENERGY", help="e.g. 20uJ (measured or modeled)")
    p.add_argument("--html", metavar="OUT", help="an HTML report with the accuracy-vs-cost plot")


def add_accuracy_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ev = sub.add_parser("eval", help="accuracy of a model on a labelled dataset, on the device")
    ev.add_argument("model", help="a .tflite file")
    _common(ev)
    ev.add_argument("--resume", action="store_true",
                    help="take the chunks an interrupted evaluation left in --store")
    ev.add_argument("--chunk", type=int_in(1), default=60, metavar="N",
                    help="samples per stored row (default 60)")
    ev.set_defaults(handler=cmd_eval)
    var = sub.add_parser(
        "variants", help="variants of a model side by side on a labelled dataset, with budgets"
    )
    var.add_argument("models", nargs="+", help="the baseline (e.g. float) first, then variants")
    _common(var)
    _budget_options(var)
    var.set_defaults(handler=cmd_variants)


def _dataset(args: argparse.Namespace) -> Dataset:
    ds = load_dataset(args.dataset, bin_dtype=args.bin_dtype, class_names=args.class_names)
    if args.limit is not None:  # >= 1 (checked by argparse)
        ds.samples = ds.samples[: args.limit]
    if args.shard:
        ds = ds.take_shard(*parse_shard(args.shard))
    return ds


def _run_all(args: argparse.Namespace, models: list[str], console: Console) -> tuple[
        list[Evaluation], Any]:
    if not args.board:
        raise HilError("no board: give --board or set board in [tool.hil]")
    output_file(args.json, "--json")  # output folders: made, or refused, before any work
    output_file(getattr(args, "html", None), "--html")
    ds = _dataset(args)
    resolution = resolve(load_board(args.board), args.backend)
    console.print(f"[bold]{resolution.describe()}[/bold]")
    kwargs: dict[str, Any] = {} if args.timeout is None else {"timeout": args.timeout}
    out = []
    options: dict[str, Any] = {"task": args.task, "top_k": args.top_k,
                               "input_scale": args.input_scale,
                               "litert_resolver": args.litert_resolver}
    with create_dut(resolution, **kwargs) as dut, Progress(console=console,
                                                          transient=True) as progress:
        for model in models:
            task = progress.add_task(f"{Path(model).stem}", total=len(ds))

            def update(n: int, total: int, t: Any = task) -> None:
                progress.update(t, completed=n, total=total)

            if getattr(args, "store", None) and len(models) == 1:
                out.append(_stored(args, dut, Path(model), ds, update, options, console))
            else:
                out.append(evaluate(dut, Path(model), ds, on_progress=update, **options))
        if getattr(args, "store", None) and len(models) > 1:  # the variants, a row each
            from hil.accuracy.resume import store_evaluation
            from hil.results.recorder import Recorder

            recorder = Recorder(args.store)
            try:
                recorder.expect(len(out))
                for ev in out:
                    store_evaluation(recorder, ev, dut, f"hil variants on {ds.name}")
                recorder.finish_run()
            finally:
                recorder.close()
            console.print(f"variants stored in {args.store} (run {recorder.run.run_id})")
    return out, resolution


def _stored(args: argparse.Namespace, dut: Any, model: Path, ds: Dataset,
            update: Any, options: dict[str, Any], console: Console) -> Evaluation:
    from hil.accuracy.resume import evaluate_resumable
    from hil.results.recorder import Recorder

    recorder = Recorder(args.store)
    try:
        record, reused = evaluate_resumable(dut, model, ds, recorder,
                                            resume=getattr(args, "resume", False),
                                            chunk=getattr(args, "chunk", 60),
                                            on_progress=update, **options)
    finally:
        recorder.close()
    if reused:
        console.print(f"resumed: {reused} of {len(ds)} samples from {args.store}")
    console.print(f"evaluation stored in {args.store} (run {recorder.run.run_id})")
    per = record["per_sample"]
    sources = [k for k in per if k not in ("index", "label")]
    ev = Evaluation(ModelFile(model), ds, record["task"], tuple(args.top_k), per["index"],
                    np.array(per["label"]), {s: np.array(per[s]) for s in sources})
    ev.stored_bit_exact = record["outputs_bit_exact"]
    return ev


def _figure_table(ev: Evaluation) -> Table:
    table = Table(title=f"{ev.model.name} on {ev.dataset.name} ({len(ev.indices)} samples, "
                  f"shard {ev.dataset.shard[0]}/{ev.dataset.shard[1]})")
    table.add_column("source")
    table.add_column("AUC" if ev.task == "anomaly" else "top-1")
    if ev.task != "anomaly":
        for k in ev.top_k:
            if k != 1:
                table.add_column(f"top-{k}")
    table.add_column("predictions differing from the device")
    for source in ev.scores:
        f = ev.figures(source)
        cells = [f"{f['auc']:.4f}"] if ev.task == "anomaly" else [f"{f['accuracy']:.2%}"] + [
            f"{f['top_k'][str(k)]:.2%}" for k in ev.top_k if k != 1]
        differ = "-" if source == "device" else str(len(ev.disagreements(source)))
        table.add_row(source, *cells, differ)
    return table


def _device_differs(evs: list[Evaluation], console: Console) -> list[str]:
    out = []
    for ev in evs:
        diff = ev.disagreements("tflm") if "tflm" in ev.scores else []
        if diff:
            out.append(f"{ev.model.name}: device and TFLM host differ on samples {diff[:10]}")
        if not ev.stored_bit_exact:
            out.append(f"{ev.model.name}: device outputs differ from the host's (see the store)")
        if ev.case is not None and not ev.case.passed:
            out.append(f"{ev.model.name}: device outputs differ from the host's\n"
                       + ev.case.failure_report())
    return out


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    (ev,), _ = _run_all(args, [args.model], console)
    console.print(_figure_table(ev))
    if ev.task != "anomaly":
        f = ev.figures("device")
        pc = Table(title="per-class accuracy (device) and confusion (rows: true)")
        pc.add_column("class")
        pc.add_column("accuracy")
        for c in range(ev.dataset.num_classes):
            pc.add_column(str(c), justify="right")
        names = ev.dataset.class_names
        for c, row in enumerate(f["confusion"]):
            acc = f["per_class"][str(c)]
            pc.add_row(names[c] if c < len(names) else str(c),
                       "n/a" if acc is None else f"{acc:.1%}", *map(str, row))
        console.print(pc)
    if args.json:
        Path(args.json).write_text(json.dumps(ev.to_dict(), indent=2, default=str) + "\n")
        console.print(f"JSON written to {args.json}")
    failures = _device_differs([ev], console)
    for failure in failures:
        console.print(f"[red]fail:[/red] {failure}", markup=True, highlight=False)
    return EXIT_FAIL if failures else EXIT_OK


def budgets_of(args: argparse.Namespace) -> Budgets:
    keys = ("max_accuracy_drop", "max_arena", "max_flash", "max_latency", "max_energy")
    return Budgets.parse({k: getattr(args, k) for k in keys if getattr(args, k) is not None})


def cmd_variants(args: argparse.Namespace, console: Console) -> int:
    budgets = budgets_of(args)  # bad budgets fail before the device starts
    evs, resolution = _run_all(args, args.models, console)
    rows = variants_table(evs, resolution.board.clock_hz)
    table = Table(title=f"variants on {resolution.board.name}: {evs[0].dataset.name}, "
                  f"{len(evs[0].indices)} samples; baseline {rows[0]['variant']}")
    for _, label in COLUMNS:
        table.add_column(label)
    for row in rows:
        table.add_row(*(cell(row, key) for key, _ in COLUMNS))
    console.print(table, width=max(console.width, 180))
    verdicts: list[Verdict] = []
    for n, row in enumerate(rows):
        verdicts += judge(row, budgets, baseline=n == 0)
    report = {"board": resolution.board.name, "backend": resolution.backend,
              "dataset": evs[0].dataset.source, "budgets": vars(budgets),
              "variants": rows, "gates": [vars(v) for v in verdicts]}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
        console.print(f"JSON written to {args.json}")
    if args.html:
        from hil.accuracy.html import write_variants_html

        write_variants_html(Path(args.html), report)
        console.print(f"HTML written to {args.html}")
    failures = _device_differs(evs, console)
    failures += [v.describe() for v in verdicts if not v.ok]
    for v in verdicts:
        if v.ok:
            console.print(f"pass: {v.describe()}", highlight=False)
    for failure in failures:
        console.print(f"[red]fail:[/red] {failure}", markup=True, highlight=False)
    return EXIT_FAIL if failures else EXIT_OK

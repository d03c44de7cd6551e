"""`hil results list|regressions|report [DB]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hil import config as hil_config
from hil.errors import HilError
from hil.results.engines import describe, is_postgres
from hil.results.html_report import render_html
from hil.results.migrations import SCHEMA_VERSION
from hil.results.regressions import LAST_GREEN, Comparison, compare_rows, resolve_baseline
from hil.results.runs import run_state
from hil.results.store import ResultStore

WIDE = 200


def open_store(path: str, read_only: bool = False) -> ResultStore:
    """The store at `path`; `read_only` (the commands that only read): never
    migrated nor written, and an older schema is said (on stderr, so that
    JSON on stdout stays JSON) and read as it is."""
    if not is_postgres(path):
        if not Path(path).is_file():
            raise HilError(f"no results store at {path}")
        if Path(path).stat().st_size == 0:  # opening it would write a schema into it
            raise HilError(f"{path} is an empty file, not a results store (no run stored yet)")
    if not read_only:
        return ResultStore(path)
    store = ResultStore(path, read_only=True)
    if store.older_schema:
        sys.stderr.write(
            f"note: {describe(path)} is at schema version {store.schema_version}, older than "
            f"this hil's {SCHEMA_VERSION}: read as it is, not upgraded (the next run that "
            "stores results upgrades it)\n"
        )
    return store


def print_table(console: Console, table: Table) -> None:
    """Tables piped to a log (nightly cron, CI) are not cut to 80 columns."""
    if not console.is_terminal:
        console = Console(file=console.file, width=max(console.width, WIDE))
    console.print(table)


def store_path(given: str | None) -> str:
    """The store named on the command line, else $HIL_STORE, else the
    project's [tool.hil] store (a path there is relative to the project)."""
    path = given or os.environ.get("HIL_STORE")
    if path:
        return path
    project = hil_config.current()
    if project is not None and project.store:
        store = project.store
        return store if "://" in store else str(project.root / store)
    raise HilError(
        "name the results store: --store DB, HIL_STORE, or store = \"...\" in the "
        "project's pyproject.toml (tool.hil table)"
    )


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    args.db = store_path(args.db)
    with open_store(args.db, read_only=True) as store:
        runs = store.runs()
    if not runs:
        console.print("no runs in the store")
        return 0
    table = Table(title=escape(f"runs in {args.db}"))
    for column in ("run", "started", "git", "status", "rows", "passed", "flaky", "instances"):
        table.add_column(column, no_wrap=column in ("run", "started"))
    for r in runs:
        state = run_state(r)
        colour = {"complete": "green", "incomplete": "red"}.get(state.state, "yellow")
        table.add_row(
            escape(r["run_id"]),
            escape(r["started"]),
            escape((r["git_revision"] or "?")[:12]),
            f"[{colour}]{escape(state.describe())}[/{colour}]",
            str(r["cases"]),
            str(r["passed"] or 0),
            str(r["flaky"] or 0),
            escape(", ".join(sorted((r["instances"] or "").split(",")))),
        )
    print_table(console, table)
    return 0


def _compare(args: argparse.Namespace) -> tuple[Comparison, dict[str, object]]:
    args.db = store_path(args.db)
    with open_store(args.db, read_only=True) as store:
        runs = store.runs()
        baseline, label = resolve_baseline(args.baseline, runs, store.baselines())
        comparison = compare_rows(
            store.rows(), baseline, args.run, counter_pct=args.threshold_pct, label=label
        )
    run = next(r for r in runs if r["run_id"] == comparison.run_id)
    return comparison, run


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}%"


def cmd_regressions(args: argparse.Namespace, console: Console) -> int:
    comparison, _run = _compare(args)
    if args.json:
        text = json.dumps(comparison.to_dict(), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text)
    if args.json != "-":
        table = Table(title=escape(f"run {comparison.run_id} against {comparison.baseline}"))
        for column in ("instance", "model", "status", "counter", "delta", "verdict"):
            table.add_column(column)
        for f in comparison.findings:
            cur = f.current
            counter = (
                escape(f"{cur['counter_median']:,.0f} {cur['counter_kind']}")
                if cur.get("counter_median") is not None
                else ""
            )
            verdict = (
                "[red]REGRESSION[/red]: " + escape("; ".join(f.regressions))
                if f.regressed
                else "ok" + escape(f" ({'; '.join(f.notes)})" if f.notes else "")
            )
            table.add_row(
                escape(f.instance),
                escape(f.model),
                escape(str(cur["status"])),
                counter,
                _delta(f.counter_delta_pct),
                verdict,
            )
        print_table(console, table)
        n = len(comparison.regressions)
        console.print(f"{n} regression{'s' if n != 1 else ''}")
    return 1 if comparison.regressions else 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    comparison, run = _compare(args)
    out = Path(args.html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(comparison, run))
    n = len(comparison.regressions)
    console.print(f"report written to {out} ({n} regression{'s' if n != 1 else ''})", markup=False)
    return 0


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "db",
        nargs="?",
        default=None,
        help="the results store: a SQLite file or a postgresql:// URL "
        "(default: $HIL_STORE, else [tool.hil] store)",
    )


def _comparison_args(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument(
        "--baseline",
        default=LAST_GREEN,
        metavar="last-green|NAME|RUN",
        help="per case the latest earlier row that passed (default), a baseline named "
        "with `hil baseline set`, or a run id",
    )
    p.add_argument(
        "--threshold-pct",
        type=float,
        default=None,
        metavar="PCT",
        help="one counter threshold for every board (default: each board's [regression] "
        "counter_pct, else 2)",
    )
    p.add_argument("--run", default=None, help="the run to judge (default: the newest)")


def add_results_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    results = sub.add_parser("results", help="the results store: runs, regressions, report")
    rs = results.add_subparsers(dest="results_command", required=True)
    ls = rs.add_parser("list", help="list the runs in the store")
    _db_arg(ls)
    ls.set_defaults(handler=cmd_list)
    reg = rs.add_parser("regressions", help="compare the newest run with a baseline")
    _comparison_args(reg)
    reg.add_argument(
        "--json", metavar="OUT", help="also write the comparison as JSON ('-': stdout)"
    )
    reg.set_defaults(handler=cmd_regressions)
    rep = rs.add_parser("report", help="the nightly report as one HTML page")
    _comparison_args(rep)
    rep.add_argument("--html", required=True, metavar="OUT.html")
    rep.set_defaults(handler=cmd_report)

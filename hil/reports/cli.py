"""`hil report SOURCE... --html OUT`: the HTML report (with CSV/JSON exports)
of JSON reports and/or results stores, plus current traces if given."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from hil.energy.replay import ReplayMeter


def add_report_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report", help="an HTML report (plots, tables) of JSON reports or results stores"
    )
    p.add_argument(
        "sources",
        nargs="+",
        help="JSON reports and/or results stores (SQLite files or postgresql:// URLs)",
    )
    p.add_argument("--html", type=Path, required=True, metavar="OUT", help="the page to write")
    p.add_argument("--csv", type=Path, metavar="OUT", help="also the newest run's table as CSV")
    p.add_argument("--json", type=Path, metavar="OUT", help="... and as JSON")
    p.add_argument(
        "--trace",
        type=Path,
        action="append",
        default=[],
        metavar="TRACE",
        help="a recorded current trace (.csv, or .jls with pyjls) to plot with its "
        "inference windows shaded (repeatable)",
    )
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from hil.reports.html_page import render, table_rows, write_exports  # matplotlib
    from hil.reports.sources import load_sources

    data = load_sources(args.sources)
    traces = []
    for path in args.trace:
        meter = ReplayMeter(path)
        meter.open()
        try:
            traces.append((path.name, meter.stop_capture()))
        finally:
            meter.close()
    args.html.parent.mkdir(parents=True, exist_ok=True)
    args.html.write_text(render(data, traces))
    write_exports(table_rows(data), args.csv, args.json)
    console.print(
        f"hil report: {args.html} ({len(data.latest)} cases in the newest of "
        f"{len(data.runs)} run(s))",
        highlight=False,
    )
    return 0

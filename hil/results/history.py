"""`hil history MODEL --board B`: one model's trend on a board type or an
instance, one line per stored row, newest last."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hil.errors import HilError
from hil.results.cli import open_store, print_table, store_path

Row = dict[str, Any]


def model_name(text: str) -> str:
    """A model name, or a .tflite path naming it (its stem, as ModelCase does)."""
    return Path(text).stem if text.endswith(".tflite") else text


def history_rows(rows: list[Row], board: str | None) -> list[Row]:
    """`rows` (one model, oldest first) on board type or instance `board`,
    each with the counter change from the previous row of its instance."""
    mine = [r for r in rows if board is None or board in (r["board"], r["instance"])]
    previous: dict[str, Row] = {}
    out = []
    for row in mine:
        before = previous.get(row["instance"])
        delta = None
        if (
            before is not None
            and before.get("counter_median")
            and row.get("counter_median") is not None
            and before.get("counter_kind") == row.get("counter_kind")
        ):
            delta = (row["counter_median"] - before["counter_median"]) / before["counter_median"]
        out.append({**row, "counter_delta_pct": None if delta is None else delta * 100.0})
        if row.get("counter_median") is not None:
            previous[row["instance"]] = row
    return out


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"
    return text + unit


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    name = model_name(args.model)
    with open_store(store_path(args.store), read_only=True) as store:
        rows = history_rows(store.rows(model=name), args.board)
    if not rows:
        where = f" on {args.board}" if args.board else ""
        raise HilError(f"no rows for model {name!r}{where} in the store")
    if args.json:
        fields = (
            "time", "run_id", "git_revision", "board", "instance", "backend", "status",
            "counter_kind", "counter_median", "counter_delta_pct", "arena_bytes",
            "flash_bytes", "stack_bytes", "energy_uj", "firmware_build_id", "firmware_cflags",
        )  # fmt: skip
        text = json.dumps([{f: r.get(f) for f in fields} for r in rows], indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        Path(args.json).write_text(text)
    table = Table(title=escape(f"{name}" + (f" on {args.board}" if args.board else "")))
    columns = ("time", "git", "instance", "status", "counter (median)", "change", "arena")
    for column in (*columns, "flash", "stack", "energy", "flags"):
        table.add_column(column, justify="right" if column in ("change",) else "left")
    for r in rows:
        counter = (
            f"{_num(r['counter_median'])} {r['counter_kind']}"
            if r.get("counter_median") is not None
            else "-"
        )
        delta = r["counter_delta_pct"]
        table.add_row(
            escape(str(r["time"])),
            escape((r.get("git_revision") or "?")[:10]),
            escape(str(r["instance"])),
            escape(str(r["status"])),
            escape(counter),
            "" if delta is None else f"{delta:+.2f}%",
            _num(r.get("arena_bytes"), " B"),
            _num(r.get("flash_bytes"), " B"),
            _num(r.get("stack_bytes"), " B"),
            _num(r.get("energy_uj"), " µJ"),
            escape(r.get("firmware_cflags") or ""),
        )
    print_table(console, table)
    return 0


def add_history_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("history", help="one model's trend on a board, run by run")
    p.add_argument("model", help="model name (or its .tflite path)")
    p.add_argument("--board", help="board type or rack instance (default: every one)")
    p.add_argument("--store", metavar="DB", help="the results store (default: $HIL_STORE)")
    p.add_argument("--json", metavar="OUT", help="also write the rows as JSON ('-': stdout only)")
    p.set_defaults(handler=cmd_history)

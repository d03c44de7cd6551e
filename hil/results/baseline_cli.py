"""`hil baseline set NAME RUN` and `hil baseline list`: named baselines in the
results store, for `pytest --hil-baseline NAME` and `hil results regressions
--baseline NAME`."""

from __future__ import annotations

import argparse
import re

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hil.errors import HilError
from hil.results.cli import open_store, print_table, store_path
from hil.results.record import now
from hil.results.regressions import LAST_GREEN

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def cmd_set(args: argparse.Namespace, console: Console) -> int:
    name = args.name
    if not NAME_RE.match(name) or name == LAST_GREEN:
        raise HilError(
            f"baseline name {name!r}: start with a letter, then letters, digits, '.', '_' "
            f"or '-'; not {LAST_GREEN!r}"
        )
    with open_store(store_path(args.store)) as store:
        if any(r["run_id"] == name for r in store.runs()):
            raise HilError(f"baseline name {name!r} is a run id; pick another name")
        before = store.set_baseline(name, args.run, now())
    moved = f" (was run {before})" if before and before != args.run else ""
    console.print(f"baseline {name} -> run {args.run}{moved}", highlight=False, markup=False)
    return 0


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    with open_store(store_path(args.store), read_only=True) as store:
        named = store.baselines()
    if not named:
        console.print("no named baselines (hil baseline set NAME RUN)")
        return 0
    table = Table(title="named baselines")
    for column in ("name", "run", "run started", "git", "set"):
        table.add_column(column)
    for b in named:
        table.add_row(
            *(escape(str(v)) for v in (b["name"], b["run_id"], b["started"])),
            escape((b["git_revision"] or "?")[:12]),
            escape(str(b["created"])),
        )
    print_table(console, table)
    return 0


def add_baseline_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("baseline", help="name a run as a baseline; list named baselines")
    bs = p.add_subparsers(dest="baseline_command", required=True)
    set_ = bs.add_parser("set", help="name run RUN as baseline NAME (moves an existing name)")
    set_.add_argument("name")
    set_.add_argument("run", help="a run id (hil results list)")
    set_.add_argument("--store", metavar="DB", help="the results store (default: $HIL_STORE)")
    set_.set_defaults(handler=cmd_set)
    ls = bs.add_parser("list", help="list the named baselines")
    ls.add_argument("--store", metavar="DB", help="the results store (default: $HIL_STORE)")
    ls.set_defaults(handler=cmd_list)

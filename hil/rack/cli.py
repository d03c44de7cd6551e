"""`hil rack check RACK` and `hil boards --discover`."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hil.errors import HilError
from hil.rack.check import check_instance
from hil.rack.rack import load_rack
from hil.rack.select import select_instances, split_selectors


def cmd_rack_check(args: argparse.Namespace, console: Console) -> int:
    rack = load_rack(args.rack)
    instances = select_instances(rack, split_selectors(args.board))
    table = Table(title=escape(f"rack {rack.name or rack.path}"))
    for column in ("instance", "board", "backend", "reachable", "why"):
        table.add_column(column)
    unreachable = 0
    for inst in instances:
        r = check_instance(inst, coordinator=rack.coordinator)
        unreachable += not r.reachable
        table.add_row(
            escape(inst.name),
            escape(inst.board),
            escape(r.backend),
            "[green]yes[/green]" if r.reachable else "[red]no[/red]",
            escape(r.reason),
        )
    console.print(table)
    console.print(f"{len(instances) - unreachable} of {len(instances)} instances reachable now")
    return 1 if unreachable else 0


def cmd_discover(console: Console) -> int:
    from serial.tools import list_ports

    from hil.boards import list_boards
    from hil.boards.probes import list_probes  # imports pyOCD: only when needed
    from hil.rack.discover import propose

    try:
        probes = list_probes()
    except HilError as exc:
        console.print(f"# {exc}", markup=False)
        probes = []
    from hil.rack.discover import usb_ports

    ports = usb_ports(list(list_ports.comports()))
    if not probes and not ports:
        console.print("found no debug probes and no USB serial ports: nothing to propose")
        return 0
    console.print(
        f"# {len(probes)} debug probe(s), {len(ports)} USB serial port(s); proposed rack entries:",
        markup=False,
    )
    console.print(
        propose(probes, ports, list_boards()), markup=False, highlight=False, soft_wrap=True
    )
    return 0


def add_rack_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rack = sub.add_parser("rack", help="a rack of board instances (docs/rack.md)")
    rack_sub = rack.add_subparsers(dest="rack_command", required=True)
    check = rack_sub.add_parser("check", help="say whether each instance is reachable now")
    check.add_argument("rack", help="the rack file (TOML)")
    check.add_argument(
        "--board",
        action="append",
        default=[],
        metavar="SELECTOR",
        help="only instances with this name, board type or tag (repeatable)",
    )
    check.set_defaults(handler=cmd_rack_check)

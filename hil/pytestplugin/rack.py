"""The pytest side of a rack (`pytest --hil-rack RACK`): options, which instances
run, their header lines, one xdist group per instance and the instance lock.
Its own pytest plugin (registered by hil/pytestplugin/plugin.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hil.boards.resolve import Resolution
from hil.cli_args import non_negative_float
from hil.errors import HilError
from hil.pytestplugin.labgrid import header as labgrid_header
from hil.pytestplugin.labgrid import take_places
from hil.pytestplugin.options import board_names, hil_group, usage_errors
from hil.pytestplugin.store import run_context
from hil.rack.lock import InstanceLock, default_lock_dir
from hil.rack.rack import load_rack
from hil.rack.resolve import RackEntry, resolve_instance
from hil.rack.select import instance_of, select_instances, split_selectors

ENTRIES = pytest.StashKey[list[RackEntry]]()
DEFAULT_LOCK_TIMEOUT = 600.0


def add_options(group: Any) -> None:
    group.addoption(
        "--hil-rack",
        metavar="RACK",
        default=None,
        help="run each case on every instance of this rack file (docs/rack.md); "
        "--board then selects instances by name, board type or tag",
    )
    group.addoption(
        "--hil-lock-dir",
        metavar="DIR",
        default=None,
        help="where rack instance locks live (default: <cache>/locks)",
    )
    group.addoption(
        "--hil-lock-timeout",
        type=non_negative_float,
        default=DEFAULT_LOCK_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for a rack instance another run holds "
        f"(default {DEFAULT_LOCK_TIMEOUT:g})",
    )


def worker_id(config: pytest.Config) -> str:
    """xdist's worker id (gw0, ...), or "" when not under xdist."""
    return str(getattr(config, "workerinput", {}).get("workerid", ""))


def configure(config: pytest.Config, selectors: list[str]) -> list[RackEntry] | None:
    """The selected rack entries (None without --hil-rack). Under xdist, every
    instance's tests go to one worker (make_scheduler: a work unit per instance)."""
    path = config.getoption("hil_rack")
    if not path:
        return None
    rack = load_rack(path)
    selected = take_places(config, rack, select_instances(rack, split_selectors(selectors)))
    entries = [resolve_instance(i) for i in selected]
    config.stash[ENTRIES] = entries
    if hasattr(config, "workerinput"):
        config.option.loadgroup = True  # xdist then suffixes node ids with the group
    elif config.getoption("dist", "no") not in ("no", "loadgroup"):
        config.option.dist = "loadgroup"
    return entries


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist controller: one work unit per rack instance, so each instance's
    tests run on one worker. xdist's own loadgroup relies on an `@group`
    suffix it writes into `item._nodeid`, which newer pytest ignores."""
    entries = config.stash.get(ENTRIES, None)
    if not entries:
        return None
    from xdist.scheduler import LoadGroupScheduling

    names = [e.name for e in entries]

    class InstanceScheduling(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return instance_of(nodeid, names) or nodeid

        def remove_node(self, node: Any) -> str | None:
            """A crashed worker's other cases go to its replacement, but not
            the one it died running: xdist reports that one failed, running it
            again could take the next worker down too, and the store must show
            the run as interrupted."""
            workload = self.assigned_work[node]
            crashed = next(
                (t for unit in workload.values() for t, done in unit.items() if not done), None
            )
            for unit in workload.values():
                if crashed in unit:
                    unit[crashed] = True
            super().remove_node(node)
            return crashed

    return InstanceScheduling(config, log)


def header(config: pytest.Config) -> list[str]:
    entries = config.stash.get(ENTRIES, None)
    if entries is None:
        return []
    n = len(entries)
    rack = config.getoption("hil_rack")
    lines = [f"hil rack: {rack} ({n} instance{'s' if n != 1 else ''} selected)"]
    lines += [f"hil: {e.describe()}" for e in entries] + labgrid_header(config)
    if config.getoption("dist", "no") != "no":
        lines.append("hil: xdist: each instance's tests run on one worker (InstanceScheduling)")
    return lines


def add_groups(items: list[pytest.Item]) -> None:
    """One xdist group per rack instance (before xdist reads the marks)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("board") if callspec else None
        if isinstance(param, RackEntry):
            item.add_marker(pytest.mark.xdist_group(param.name))


def entry_for(config: pytest.Config, resolution: Resolution) -> RackEntry | None:
    if not resolution.instance:
        return None
    for entry in config.stash.get(ENTRIES, []):
        if entry.name == resolution.instance:
            return entry
    return None


@contextlib.contextmanager
def hold_instance(config: pytest.Config, entry: RackEntry | None) -> Iterator[None]:
    """Hold the instance's cross-process lock (nothing outside a rack)."""
    if entry is None:
        yield
        return
    directory = config.getoption("hil_lock_dir")
    lock = InstanceLock(Path(directory) if directory else default_lock_dir(), entry.name)
    try:
        lock.acquire(
            config.getoption("hil_lock_timeout"), worker_id(config), run_context(config).run_id
        )
    except HilError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield
    finally:
        lock.release()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_configure(config: pytest.Config) -> None:
    """Before hil.pytestplugin.plugin resolves the boards (its configure is
    trylast): with --hil-rack, --board selects instances."""
    with usage_errors():
        configure(config, board_names(config))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header(config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Before xdist reads the xdist_group marks and suffixes node ids with them.
    add_groups(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return make_scheduler(config, log)

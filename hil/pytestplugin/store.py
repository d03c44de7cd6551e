"""The results store under pytest (`--hil-store DB`), with or without a rack:
this session's run (shared by xdist workers) and its recorder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hil.pytestplugin.options import hil_group, usage_errors
from hil.results.record import RunContext
from hil.results.recorder import Recorder, new_run

RECORDER = pytest.StashKey[Recorder]()
RUN = pytest.StashKey[RunContext]()


def add_options(group: Any) -> None:
    group.addoption(
        "--hil-store",
        metavar="DB",
        default=None,
        help="add one row per case to this results store (a SQLite file, or a "
        "postgresql:// URL) as each case finishes",
    )


def configure(config: pytest.Config) -> None:
    """The run (the controller's, under xdist) and, with --hil-store, its recorder."""
    given = getattr(config, "workerinput", {}).get("hil_run")
    run = RunContext.from_row(json.loads(given)) if given else new_run()
    config.stash[RUN] = run
    store = config.getoption("hil_store")
    if store:
        config.stash[RECORDER] = Recorder(store, run)


def configure_node(node: Any) -> None:
    """xdist controller: workers share the run (one run in the store, whose
    process is the controller)."""
    node.workerinput["hil_run"] = json.dumps(node.config.stash[RUN].run_row())


def recorder(config: pytest.Config) -> Recorder | None:
    return config.stash.get(RECORDER, None)


def run_context(config: pytest.Config) -> RunContext:
    return config.stash[RUN]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_configure(config: pytest.Config) -> None:
    with usage_errors():
        configure(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    configure_node(node)


def pytest_unconfigure(config: pytest.Config) -> None:
    opened = recorder(config)
    if opened:
        opened.close()

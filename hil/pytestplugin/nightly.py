"""The nightly side of the pytest plugin: the run's lifecycle in the results
store (opened, cases expected, skipped, finished; earlier incomplete runs
reported), `--hil-baseline`, `--hil-retries` and `--hil-quarantine`, as a pytest plugin of its
own (registered by hil/pytestplugin/plugin.py); check_model does the per-case part."""

from __future__ import annotations

import shlex
from collections.abc import Generator
from typing import Any

import pytest

from hil.boards.resolve import Resolution
from hil.cli_args import int_in
from hil.errors import HilError
from hil.firmware.build import check_cflags
from hil.pytestplugin import store as pytest_store
from hil.pytestplugin.options import hil_group, usage_errors
from hil.pytestplugin.quarantine import Quarantined, find, load_quarantine
from hil.rack.resolve import RackEntry
from hil.results.recorder import Recorder
from hil.results.regressions import LAST_GREEN, Finding, resolve_baseline
from hil.results.runs import RunState, run_state
from hil.results.store import ResultStore

BASELINE = pytest.StashKey[tuple[str | None, str]]()  # (run id or None: last-green, label)
QUARANTINE = pytest.StashKey[list[Quarantined]]()
INCOMPLETE = pytest.StashKey[list[tuple[dict[str, Any], RunState]]]()
SHOWN_RUNS = 5


def add_options(group: Any) -> None:
    group.addoption(
        "--hil-baseline",
        metavar="last-green|NAME|RUN",
        default=None,
        help="with --hil-store: fail a case that regressed against its baseline: per case "
        "the latest earlier row that passed (last-green), a baseline named with "
        "`hil baseline set`, or a run id",
    )
    group.addoption(
        "--hil-retries",
        type=int_in(0),
        default=0,
        metavar="N",
        help="retry a case up to N times after an infrastructure failure (link, hang, "
        "emulator, probe), the device reset first; a case passing on retry is flaky",
    )
    group.addoption(
        "--hil-quarantine",
        metavar="FILE",
        default=None,
        help="TOML of known-bad (board or instance, test glob) pairs: they run and are "
        "recorded, a failure is reported as xfail",
    )
    group.addoption(
        "--hil-cflags",
        metavar="FLAGS",
        default="",
        help='extra firmware compiler flags after the common ones, e.g. "-O1"; part of '
        "the build id",
    )


def configure(config: pytest.Config) -> None:
    """Check the options; load the quarantine file; resolve --hil-baseline."""
    check_cflags(cflags(config))
    path = config.getoption("hil_quarantine")
    config.stash[QUARANTINE] = load_quarantine(path) if path else []
    spec = config.getoption("hil_baseline")
    if spec is None:
        return
    store = config.getoption("hil_store")
    if not store:
        raise pytest.UsageError(
            "--hil-baseline compares with the results store: add --hil-store DB"
        )
    if spec == LAST_GREEN:
        config.stash[BASELINE] = (None, LAST_GREEN)
        return
    with ResultStore(store) as opened:
        config.stash[BASELINE] = resolve_baseline(spec, opened.runs(), opened.baselines())


def cflags(config: pytest.Config) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(config.getoption("hil_cflags")))
    except ValueError as exc:
        raise pytest.UsageError(f"--hil-cflags: {exc}") from exc


def baseline(config: pytest.Config) -> tuple[str | None, str] | None:
    return config.stash.get(BASELINE, None)


def _is_controller(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("dsession")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _records_runs(config: pytest.Config) -> bool:
    """The xdist controller, or a process without xdist, owns the run's row."""
    return not _is_worker(config) and not config.getoption("collectonly")


def session_start(config: pytest.Config) -> None:
    recorder = pytest_store.recorder(config)
    if recorder is None or not _records_runs(config):
        return
    config.stash[INCOMPLETE] = recorder.open_run()


def uses_check_model(item: pytest.Item) -> bool:
    return "check_model" in getattr(item, "fixturenames", ())


def collection_finish(session: pytest.Session) -> None:
    """The processes that collect (each xdist worker, all alike) say how
    many cases the run will record."""
    config = session.config
    recorder = pytest_store.recorder(config)
    if recorder is None or _is_controller(config) or config.getoption("collectonly"):
        return
    recorder.expect(sum(uses_check_model(item) for item in session.items))


def report_made(item: pytest.Item, report: pytest.TestReport) -> None:
    """A skipped case records no row: the run expects one fewer."""
    recorder = pytest_store.recorder(item.config)
    if (
        recorder is not None
        and report.skipped
        and not hasattr(report, "wasxfail")
        and report.when in ("setup", "call")
        and uses_check_model(item)
    ):
        recorder.skipped()


def crashed(config: pytest.Config, test: str, worker: str) -> None:
    """xdist controller: a worker died running `test`; the run is incomplete."""
    recorder = pytest_store.recorder(config)
    if recorder is not None:
        recorder.interrupted(f"worker {worker} died running {test}")


def session_finish(config: pytest.Config) -> RunState | None:
    """Mark the run finished; its state (complete, or incomplete: a case
    never recorded, e.g. its worker was killed)."""
    recorder = pytest_store.recorder(config)
    if recorder is None or not _records_runs(config):
        return None
    recorder.finish_run()
    mine = next(r for r in recorder.store.runs() if r["run_id"] == recorder.run.run_id)
    return run_state(mine)


# -- quarantine ------------------------------------------------------------------


def _board_of(item: pytest.Item) -> tuple[str, str] | None:
    """(board type, instance) of a test parametrized by the board fixture."""
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("board") if callspec else None
    if isinstance(param, RackEntry):
        return param.instance.board, param.name
    if isinstance(param, Resolution):
        return param.board.name, param.instance or param.board.name
    return None


def mark_quarantined(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Quarantined cases still run; their failure is an xfail (not strict)."""
    entries = config.stash.get(QUARANTINE, [])
    if not entries:
        return
    for item in items:
        where = _board_of(item)
        if where is None:
            continue
        entry = find(entries, item.nodeid, *where)
        if entry is not None:
            item.add_marker(pytest.mark.xfail(reason=entry.describe(), strict=False))
            item.user_properties.append(("hil_quarantine", entry.reason))


# -- reporting -------------------------------------------------------------------


def _runs_text(found: list[tuple[dict[str, Any], RunState]]) -> list[str]:
    lines = [
        f"hil: WARNING: earlier run {run['run_id']} (started {run['started']}) is "
        f"{state.describe()}"
        for run, state in found[-SHOWN_RUNS:]
    ]
    if len(found) > SHOWN_RUNS:
        lines.append(f"hil: ... and {len(found) - SHOWN_RUNS} more (hil results list)")
    return lines


def header(config: pytest.Config) -> list[str]:
    recorder = pytest_store.recorder(config)
    lines = []
    if recorder is not None:
        chosen = baseline(config)
        against = f"; regressions against {chosen[1]}" if chosen else ""
        lines.append(f"hil store: {recorder.path} (run {recorder.run.run_id}{against})")
        lines += _runs_text(config.stash.get(INCOMPLETE, []))
    retries = config.getoption("hil_retries")
    if retries:
        lines.append(f"hil: infrastructure failures retried up to {retries} times")
    entries = config.stash.get(QUARANTINE, [])
    if entries:
        path = config.getoption("hil_quarantine")
        lines.append(f"hil quarantine: {path} ({len(entries)} entries)")
    if cflags(config):
        lines.append(f"hil: extra firmware flags: {' '.join(cflags(config))}")
    return lines


def summary(tr: Any, config: pytest.Config, mine: RunState | None) -> None:
    recorder = pytest_store.recorder(config)
    if recorder is None or not _records_runs(config):
        return
    tr.section("hil results store")
    state = mine.describe() if mine else "not recorded"
    tr.write_line(f"run {recorder.run.run_id} in {recorder.path}: {state}")
    for line in _runs_text(config.stash.get(INCOMPLETE, [])):
        tr.write_line(line, yellow=True)


def judge(
    config: pytest.Config, recorder: Recorder, row: dict[str, Any], props: list[tuple[str, Any]]
) -> str | None:
    """With --hil-baseline: the case's row against its baseline; JUnit properties
    for the comparison, and the failure text if it regressed."""
    chosen = baseline(config)
    if chosen is None:
        return None
    finding = recorder.judge(row, chosen[0])
    if finding.baseline:
        props.append(("hil_baseline_run", str(finding.baseline["run_id"])))
    if finding.counter_delta_pct is not None:
        props.append(("hil_counter_delta_pct", f"{finding.counter_delta_pct:.4f}"))
    if not finding.regressed:
        return None
    props.append(("hil_regressions", "; ".join(finding.regressions)))
    return regression_report(finding, chosen[1])


def regression_report(finding: Finding, label: str) -> str:
    base = finding.baseline or {}
    where = f"run {base.get('run_id')}, instance {base.get('instance')}"
    lines = [
        f"{finding.model} on {finding.instance} regressed against {label} ({where}):",
        *(f"  {r}" for r in finding.regressions),
        *(f"  note: {n}" for n in finding.notes),
    ]
    return "\n".join(lines)


class HilFlakyWarning(UserWarning):
    """A case passed only after retries: its infrastructure is unreliable."""


def flaky_message(name: str, instance: str, earlier: list[HilError]) -> str:
    errors = "; ".join(f"{type(e).__name__}: {e}".replace("\n", " ")[:200] for e in earlier)
    return f"{name} on {instance} passed on attempt {len(earlier) + 1} (flaky): {errors}"


RUN_STATE = pytest.StashKey[RunState | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_configure(config: pytest.Config) -> None:
    with usage_errors():
        configure(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Open the run in the store before xdist starts its workers."""
    with usage_errors():  # e.g. a store written by a newer hil
        session_start(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_quarantined(config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    collection_finish(session)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: Any
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    report_made(item, report)
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: Any, sched: Any) -> None:
    node = getattr(report, "node", None)
    worker = getattr(getattr(node, "gateway", None), "id", "?")
    crashed(node.config if node is not None else sched.config, crashitem, worker)


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[RUN_STATE] = session_finish(session.config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary(terminalreporter, config, config.stash.get(RUN_STATE, None))

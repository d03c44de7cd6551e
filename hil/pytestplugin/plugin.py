"""The pytest plugin: --board and friends, the `board`, `dut` and `check_model`
fixtures, a report header saying which backend runs, and the JSON report."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hil import config as hil_config
from hil.boards import Resolution, load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.record import CaseRecord, DeviceFacts
from hil.case.retry import earlier_attempts, with_retries
from hil.case.runner import CaseResult, run_case
from hil.cli_args import int_in, positive_float
from hil.device.dut import Dut, create_dut
from hil.device.eembc import EembcDut
from hil.device.protocol import Device
from hil.energy.meter import Meter
from hil.errors import HilError
from hil.pytestplugin import aliases as pytest_aliases
from hil.pytestplugin import energy as pytest_energy
from hil.pytestplugin import engine as pytest_engine
from hil.pytestplugin import hookspecs, html_extras
from hil.pytestplugin import nightly as pytest_nightly
from hil.pytestplugin import rack as pytest_rack
from hil.pytestplugin import store as pytest_store
from hil.pytestplugin import transport as pytest_transport
from hil.pytestplugin.accuracy import check_accuracy, check_variants  # noqa: F401  (fixtures)
from hil.pytestplugin.options import board_names, hil_group, usage_errors
from hil.rack.resolve import RackEntry
from hil.reports.json_report import write_report
from hil.results.junit import junit_properties
from hil.results.recorder import error_row, result_row, retried

FIRMWARE_VARIANTS = ("release", "test")  # else --hil-firmware names a prebuilt image
RESOLUTIONS = pytest.StashKey[list[Resolution]]()
RESULTS = pytest.StashKey[list[CaseRecord]]()


# Each owns its options and hooks. Registered after this module, so their
# hooks run before this module's of the same kind (pluggy calls the last
# registered first) unless marked; report-header lines come in this order.
pytest_plugins = (
    "hil.pytestplugin.project",
    "hil.pytestplugin.store",
    "hil.pytestplugin.rack",
    "hil.pytestplugin.engine",
    "hil.pytestplugin.transport",
    "hil.pytestplugin.nightly",
    "hil.pytestplugin.energy",
    "hil.pytestplugin.progress",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = hil_group(parser)
    group.addoption(
        "--board",
        action="append",
        default=[],
        metavar="NAME",
        help="board to run on (name in boards/ or a .toml path); repeat or "
        "comma-separate for several",
    )
    group.addoption(
        "--hil-backend",
        choices=("qemu", "fvp", "pyocd"),
        default=None,
        help="force a backend instead of the board's first available one",
    )
    group.addoption(
        "--hil-report",
        metavar="PATH",
        default=None,
        help="write a JSON report of every model case to PATH",
    )
    group.addoption(
        "--hil-html",
        metavar="PATH",
        default=None,
        help="write a self-contained HTML report (plots: energy, counters, energy vs "
        "MACs; trends too with --hil-store) to PATH",
    )
    group.addoption(
        "--hil-firmware",
        default="release",
        metavar="VARIANT|ELF",
        help="firmware variant ('test' adds the debug commands), or a prebuilt ELF with hil's "
        "agent linked in (docs/own-firmware.md)",
    )
    group.addoption(
        "--hil-litert-resolver",
        choices=("ref", "default"),
        default="ref",
        help="LiteRT kernels: TFLite's reference kernels (default) or its optimised default ones",
    )
    group.addoption(
        "--hil-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="per-request timeout on the device link (default 10, or [tool.hil] timeout)",
    )
    group.addoption(
        "--hil-repeats",
        type=int_in(1, 254),
        default=1,
        metavar="K",
        help="timed inferences per vector (min/median/p90/max are reported)",
    )
    group.addoption(
        "--hil-warmup",
        type=int_in(0, 65535),
        default=0,
        metavar="W",
        help="untimed inferences before the timed ones",
    )
    group.addoption(
        "--hil-profile",
        action="store_true",
        help="per-operator profile of every case (else only of cases marked "
        "hil_profile); shown for failing cases",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Last of hil's: [tool.hil] (project), the store and the rack's
    selection (rack) are in place; resolve the boards and hand them on."""
    config.addinivalue_line("markers", "hil: needs a board (--board)")
    config.addinivalue_line("markers", "hil_profile: collect a per-operator profile")
    pytest_aliases.register(config)
    entries = config.stash.get(pytest_rack.ENTRIES, None)
    resolutions = []
    with usage_errors():
        if entries is not None:  # --hil-rack: --board selected instances
            resolutions = [e.resolution for e in entries if e.resolution]
        else:
            for name in dict.fromkeys(board_names(config)):
                resolutions.append(resolve(load_board(name), config.getoption("hil_backend")))
        config.hook.pytest_hil_boards(
            config=config, resolutions=resolutions, rack=entries is not None
        )
    config.stash[RESOLUTIONS] = resolutions
    config.stash[RESULTS] = []
    html_extras.register(config)  # hil's figures in pytest-html's report, when it is loaded


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The boards, unless the rack's header lists its instances."""
    if config.stash.get(pytest_rack.ENTRIES, None) is not None:
        return []
    return [f"hil: {r.describe()}" for r in config.stash.get(RESOLUTIONS, [])]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "board" not in metafunc.fixturenames or _parametrizes(metafunc, "board"):
        return
    entries = metafunc.config.stash.get(pytest_rack.ENTRIES, None)
    if entries:  # --hil-rack: every selected instance, by instance name
        metafunc.parametrize(
            "board", entries, ids=[e.name for e in entries], indirect=True, scope="session"
        )
        return
    resolutions = metafunc.config.stash[RESOLUTIONS]
    if not resolutions:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid} needs a board: pass --board=NAME "
            "(`hil boards` lists them)"
        )
    metafunc.parametrize(
        "board",
        resolutions,
        ids=[r.board.name for r in resolutions],
        indirect=True,
        scope="session",
    )


def _parametrizes(metafunc: pytest.Metafunc, name: str) -> bool:
    """Whether the test parametrizes `name` itself (then it is not ours)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


@pytest.fixture(scope="session")
def board(request: pytest.FixtureRequest) -> Resolution:
    """The resolved board: which board, and which backend runs it and why."""
    param = request.param
    if isinstance(param, RackEntry):
        if param.resolution is None:
            pytest.fail(f"rack instance {param.describe()}", pytrace=False)
        return param.resolution
    return param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def hil_dut(board: Resolution, request: pytest.FixtureRequest) -> Iterator[Device]:
    """The running device with an open session, shared by every test on the board.
    Also named `dut` (hil.pytestplugin.aliases); this name never clashes."""
    config = request.config
    entry = pytest_rack.entry_for(config, board)
    with pytest_rack.hold_instance(config, entry):  # a rack instance: one run at a time
        firmware = config.getoption("hil_firmware")
        prebuilt = None if firmware in FIRMWARE_VARIANTS else Path(firmware)
        device = create_dut(
            board,
            variant="release" if prebuilt else firmware,
            firmware=prebuilt,
            timeout=config.getoption("hil_timeout"),
            cflags=pytest_nightly.cflags(config),
            engine=pytest_engine.engine_for(config, board),
            tflm_ops=pytest_engine.tflm_ops_for(config, board),
            transport=pytest_transport.transport_for(config, board),
        )
        try:
            device.start()
        except HilError as exc:
            device.close()
            pytest.fail(f"{board.describe()}: {exc}", pytrace=False)
        try:
            yield device
        finally:
            device.close()


@pytest.fixture(scope="session")
def hil_meter(board: Resolution, request: pytest.FixtureRequest) -> Iterator[Meter | None]:
    """The energy meter on the board's supply, open for the session; None
    when the board has none (energy is then modeled where it can be)."""
    config = request.config
    spec = pytest_energy.meter_spec(config, pytest_rack.entry_for(config, board))
    with pytest_energy.open_meter(spec, board.instance or board.board.name) as meter:
        yield meter


CASE_DEVICES = pytest.StashKey[dict[tuple[str, str, str, str], Device]]()


def _case_device(
    board: Resolution, config: pytest.Config, firmware: Path | None, engine: str | None,
    tflm_ops: str,
) -> Device:  # fmt: skip
    """The device for cases that name their own prebuilt image, engine or
    TFLM ops mode, started once per (board, image or engine, ops) for the session."""
    devices = config.stash.setdefault(CASE_DEVICES, {})
    key = (board.instance or board.board.name, str(firmware.resolve()) if firmware else "",
           engine or "", tflm_ops)  # fmt: skip
    if key not in devices:
        transport = pytest_transport.transport_for(config, board)
        if firmware is not None:
            device = create_dut(
                board,
                timeout=config.getoption("hil_timeout"),
                firmware=firmware,
                transport=transport,
            )
        else:
            variant = config.getoption("hil_firmware")
            device = create_dut(
                board,
                variant=variant if variant in FIRMWARE_VARIANTS else "release",
                timeout=config.getoption("hil_timeout"),
                cflags=pytest_nightly.cflags(config),
                engine=engine or pytest_engine.engine_for(config, board),
                tflm_ops=tflm_ops,
                transport=transport,
            )
        try:
            device.start()
        except HilError as exc:
            device.close()
            pytest.fail(f"{board.describe()}: {exc}", pytrace=False)
        config.add_cleanup(device.close)
        devices[key] = device
    return devices[key]


@pytest.fixture
def check_model(
    board: Resolution, hil_meter: Meter | None, request: pytest.FixtureRequest
) -> Callable[[ModelCase], CaseResult]:
    """Run a ModelCase on the device and the references; fail with a readable
    diff unless every vector agrees. Returns the result for further checks.
    A case naming its own firmware, or an engine or TFLM ops mode other than
    the session's, runs on a device started for it (the session's `dut` is then not needed)."""

    def check(case: ModelCase) -> CaseResult:
        case = hil_config.resolve_case(case)  # relative paths: from the project root
        config = request.config
        own_engine = case.engine is not None and case.engine != pytest_engine.engine_for(
            config, board
        )
        ops = pytest_engine.tflm_ops_for(config, board, case.tflm_ops)
        own_ops = ops != pytest_engine.tflm_ops_for(config, board)
        dut: Device = (
            _case_device(board, config, case.firmware, case.engine, ops)
            if case.firmware is not None or own_engine or own_ops
            else request.getfixturevalue("hil_dut")
        )
        return ModelCheck(dut, hil_meter, request).check(case)

    return check


@dataclass
class ModelCheck:
    """check_model's work for one test: run with retries, then record the
    result or the error (store, JSON report, JUnit properties) and judge it."""

    dut: Device
    meter: Meter | None
    request: pytest.FixtureRequest

    def check(self, case: ModelCase) -> CaseResult:
        case = hil_config.resolve_case(case)  # relative paths: from the project root
        instance = self.dut.resolution.instance or self.dut.board.name
        test = plain_nodeid(self.request.node.nodeid, instance)
        try:
            result, earlier = with_retries(
                lambda: self._attempt(case), self.config.getoption("hil_retries"), self._recover
            )
        except Exception as exc:  # the store keeps failures too, with their status
            self._failed(exc, case, instance, test)
            raise
        self._passed(result, case, instance, test, earlier)
        return result

    @property
    def config(self) -> pytest.Config:
        return self.request.config

    def _attempt(self, case: ModelCase) -> CaseResult:
        config = self.config
        profile = bool(config.getoption("hil_profile")) or (
            self.request.node.get_closest_marker("hil_profile") is not None
        )
        return run_case(
            self.dut,
            case,
            litert_resolver=config.getoption("hil_litert_resolver"),
            warmup=config.getoption("hil_warmup"),
            repeats=config.getoption("hil_repeats"),
            profile=profile,
            meter=self.meter,
            energy_plan=pytest_energy.plan(config),
        )

    def _recover(self, exc: BaseException) -> None:
        if not self.dut.recover(exc):  # e.g. a TargetError: start the device afresh
            self.dut.restart()

    def _failed(self, exc: Exception, case: ModelCase, instance: str, test: str) -> None:
        earlier = earlier_attempts(exc)
        run = pytest_store.run_context(self.config)
        row = error_row(exc, case, DeviceFacts.of(self.dut), instance, test, run, earlier)
        self.request.node.user_properties.extend(junit_properties(row))
        if earlier:
            self.request.node.add_report_section(
                "call",
                "hil retries",
                f"{len(earlier) + 1} attempts, each an infrastructure failure: {row['error']}",
            )
        recorder = pytest_store.recorder(self.config)
        if recorder:
            recorder.add(row)

    def _passed(
        self,
        result: CaseResult,
        case: ModelCase,
        instance: str,
        test: str,
        earlier: list[HilError],
    ) -> None:
        """Record a result; fail the test on a mismatch, an energy error or a
        regression; warn when it passed only after infrastructure failures."""
        config, node = self.config, self.request.node
        props = node.user_properties
        if result.profile:
            node.add_report_section(
                "call", "hil profile", f"{result.profile.method}\n{result.profile.table()}"
            )
        record = result.record(test=test, instance=instance)
        run = pytest_store.run_context(config)
        row = result_row(record, case, instance, run, earlier)
        record = retried(record, earlier)
        props.extend(junit_properties(row))
        for name, reason in result.unavailable.items():
            props.append((f"hil_{name}_unavailable", reason))
        failures = [] if result.passed else [result.failure_report()]
        if result.energy_error:
            failures.append(f"{case.name} on {instance}: energy: {result.energy_error}")
        recorder = pytest_store.recorder(config)
        if recorder:
            recorder.add(row)
            regressed = pytest_nightly.judge(config, recorder, row, props)
            if regressed:
                record = replace(record, regression=regressed)  # the summary says REGRESSION
                failures.append(regressed)
        config.stash[RESULTS].append(record)
        node.stash[html_extras.CASE_RECORD] = record
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)
        if earlier:
            warnings.warn(
                pytest_nightly.HilFlakyWarning(
                    pytest_nightly.flaky_message(case.name, instance, earlier)
                ),
                stacklevel=3,
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that dies by a device fault, hang or broken link leaves a freshly
    reset device for the next test, and says so in its report."""
    found = getattr(item, "funcargs", {}).get("hil_dut")
    device: Device | None = found if isinstance(found, Dut | EembcDut) else None
    before = device.link_stats() if device is not None else {}
    backend_log = ""
    try:
        return (yield)
    except HilError as exc:
        if device is not None:
            backend_log = device.log()  # before a reset replaces the backend
            if device.recover(exc):
                item.user_properties.append(("hil_device_reset", str(exc)))
        raise
    finally:
        if device is not None:
            report_device(item, device, before, backend_log)


# Link counters that say the link was not clean: a test that passed through
# them says so in its JUnit properties too, so a flaky link shows where people look.
LINK_TROUBLE = ("retries", "bad_frames", "stale_frames", "naks", "timeouts", "resyncs")


def report_device(
    item: pytest.Item, device: Device, before: dict[str, int | float], backend_log: str
) -> None:
    """The device's state, what the link went through during the test, and
    the backend's log after a failure, as a "hil device" section of the report."""
    after = device.link_stats()
    link = {k: round(v - before.get(k, 0), 3) for k, v in after.items()}
    lines = [f"device: {device.description}", f"state: {device.state.value}"]
    if link:
        lines.append("link: " + ", ".join(f"{k}={v}" for k, v in sorted(link.items())))
    if backend_log:
        lines.append(backend_log)
    item.add_report_section("call", "hil device", "\n".join(lines))
    trouble = {k: link[k] for k in LINK_TROUBLE if link.get(k)}
    if trouble:
        item.user_properties.append(("hil_link_trouble", json.dumps(trouble)))


@pytest.fixture
def compare_models(hil_dut: Device, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`compare_models(a, b, vectors=100, seed=0)`: run two variants of a model on
    the device on the same inputs; returns a hil.case.compare_models.ModelComparison."""
    from hil.case.compare_models import compare_models as run_comparison

    def run(a: Any, b: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("litert_resolver", request.config.getoption("hil_litert_resolver"))
        return run_comparison(hil_dut, a, b, **kwargs)

    return run


def plain_nodeid(nodeid: str, instance: str) -> str:
    """The test id without the `@instance` suffix xdist's loadgroup adds, so a
    case has one id with and without -n."""
    suffix = f"@{instance}"
    return nodeid[: -len(suffix)] if nodeid.endswith(suffix) else nodeid


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    results = config.stash.get(RESULTS, [])
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand results to the controller
        workeroutput["hil_results"] = json.dumps([r.to_json() for r in results], default=str)
        return
    path = config.getoption("hil_report")
    if path:
        targets = [r.describe() for r in config.stash.get(RESOLUTIONS, [])]
        write_report(path, results, targets)
    html = config.getoption("hil_html")
    if html and results:
        store = config.getoption("hil_store")
        from hil.reports.html_page import write_html_report  # matplotlib: only when asked

        write_html_report(Path(html), results, store)  # a file or a postgresql:// URL


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: collect a worker's results."""
    raw = getattr(node, "workeroutput", {}).get("hil_results")
    if raw:
        node.config.stash[RESULTS].extend(CaseRecord.from_json(r) for r in json.loads(raw))


def _number(value: float) -> str:
    """An integer as an integer (3,528), else one decimal (3,519.5)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    tr = terminalreporter
    tr.section("hil model cases")
    for r in results:
        agreement = ", ".join(f"{ref} {a.matched}/{a.total}" for ref, a in r.agreement.items())
        counter = r.counter
        figure = (
            f"{_number(counter.median)} {counter.kind}/inference (median)"
            if counter
            else "no counter"
        )
        energy = r.energy
        energy_text = ""
        if energy:
            energy_text = (
                f"; {energy.energy_per_inference_j * 1e6:.3f} uJ/inference ({energy.kind})"
            )
        status = "regression" if r.regression and r.status == "pass" else r.status
        tr.write_line(
            f"{status.upper():8} {r.case} on {r.target} over "
            f"{r.transport_used or 'serial'}: {agreement}; "
            f"{figure}; arena {r.arena_used_bytes} B{energy_text}"
        )
        for name, reason in r.unavailable_references.items():
            tr.write_line(f"         {name} unavailable: {reason}")
    for option in ("hil_report", "hil_html"):
        path = config.getoption(option)
        if path:
            tr.write_line(f"hil report: {path}")

"""The pytest plugin: --board and friends, the `board`, `dut` and `check_model`
fixtures, a report header saying which backend runs, and the JSON report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hil.boards import Resolution, load_board, resolve
from hil.cases import ModelCase
from hil.dut import Dut, create_dut
from hil.eembc_dut import EembcDut
from hil.errors import HilError
from hil.reports.json_report import write_report
from hil.runner import CaseResult, run_case

RESOLUTIONS = pytest.StashKey[list[Resolution]]()
RESULTS = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop (hil)")
    group.addoption(
        "--board",
        action="append",
        default=[],
        metavar="NAME",
        help="board to run on (name in boards/ or a .toml path); repeat or "
        "comma-separate for several",
    )
    group.addoption(
        "--backend",
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
        "--hil-firmware",
        choices=("release", "test"),
        default="release",
        help="firmware variant; 'test' adds the debug commands",
    )
    group.addoption(
        "--litert-resolver",
        choices=("ref", "default"),
        default="ref",
        help="LiteRT kernels: TFLite's reference kernels (default) or its optimised default ones",
    )
    group.addoption(
        "--hil-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per-request timeout on the device link",
    )
    group.addoption(
        "--hil-repeats",
        type=int,
        default=1,
        metavar="K",
        help="timed inferences per vector (min/median/p90/max are reported)",
    )
    group.addoption(
        "--hil-warmup",
        type=int,
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil: needs a board (--board)")
    config.addinivalue_line("markers", "hil_profile: collect a per-operator profile")
    names = [n.strip() for opt in config.getoption("board") for n in opt.split(",") if n.strip()]
    resolutions = []
    try:
        for name in dict.fromkeys(names):
            resolutions.append(resolve(load_board(name), config.getoption("backend")))
    except HilError as exc:
        raise pytest.UsageError(str(exc)) from exc
    config.stash[RESOLUTIONS] = resolutions
    config.stash[RESULTS] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"hil: {r.describe()}" for r in config.stash.get(RESOLUTIONS, [])]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "board" not in metafunc.fixturenames or _parametrizes(metafunc, "board"):
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
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def dut(board: Resolution, request: pytest.FixtureRequest) -> Iterator[Dut]:
    """The running device with an open session, shared by every test on the board."""
    config = request.config
    device = create_dut(
        board, variant=config.getoption("hil_firmware"), timeout=config.getoption("hil_timeout")
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


@pytest.fixture
def check_model(
    dut: Dut | EembcDut, request: pytest.FixtureRequest
) -> Callable[[ModelCase], CaseResult]:
    """Run a ModelCase on the device and the references; fail with a readable
    diff unless every vector agrees. Returns the result for further checks."""
    config = request.config

    def check(case: ModelCase) -> CaseResult:
        profile = bool(config.getoption("hil_profile")) or (
            request.node.get_closest_marker("hil_profile") is not None
        )
        result = run_case(
            dut,
            case,
            litert_resolver=config.getoption("litert_resolver"),
            warmup=config.getoption("hil_warmup"),
            repeats=config.getoption("hil_repeats"),
            profile=profile,
        )
        if result.profile:
            request.node.add_report_section(
                "call", "hil profile", f"{result.profile.method}\n{result.profile.table()}"
            )
        record = result.to_dict()
        record["test"] = request.node.nodeid
        config.stash[RESULTS].append(record)
        props = request.node.user_properties
        props.append(("hil_target", dut.description))
        props.append(("hil_firmware", dut.build_id))
        for ref, agg in record["aggregate"]["agreement"].items():
            props.append((f"hil_{ref}_matched", f"{agg['matched']}/{agg['total']}"))
        counter = record["aggregate"]["counter"]
        if counter:
            props.append((f"hil_{counter['kind']}_median", str(counter["per_inference"]["median"])))
        for name, reason in result.unavailable.items():
            props.append((f"hil_{name}_unavailable", reason))
        if not result.passed:
            pytest.fail(result.failure_report(), pytrace=False)
        return result

    return check


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that dies by a device fault, hang or broken link leaves a freshly
    reset device for the next test, and says so in its report."""
    try:
        return (yield)
    except HilError as exc:
        device = getattr(item, "funcargs", {}).get("dut")
        if isinstance(device, Dut | EembcDut) and device.recover(exc):
            item.user_properties.append(("hil_device_reset", str(exc)))
        raise


@pytest.fixture
def compare_models(dut: Dut, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`compare_models(a, b, vectors=100, seed=0)`: run two variants of a model on
    the device on the same inputs; returns a hil.compare_models.ModelComparison."""
    from hil.compare_models import compare_models as run_comparison

    def run(a: Any, b: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("litert_resolver", request.config.getoption("litert_resolver"))
        return run_comparison(dut, a, b, **kwargs)

    return run


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    results = config.stash.get(RESULTS, [])
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand results to the controller
        workeroutput["hil_results"] = json.dumps(results, default=str)
        return
    path = config.getoption("hil_report")
    if path:
        targets = [r.describe() for r in config.stash.get(RESOLUTIONS, [])]
        write_report(path, results, targets)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: collect a worker's results."""
    raw = getattr(node, "workeroutput", {}).get("hil_results")
    if raw:
        node.config.stash[RESULTS].extend(json.loads(raw))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    tr = terminalreporter
    tr.section("hil model cases")
    for r in results:
        agreement = ", ".join(
            f"{ref} {a['matched']}/{a['total']}" for ref, a in r["aggregate"]["agreement"].items()
        )
        counter = r["aggregate"]["counter"]
        figure = (
            f"{counter['per_inference']['median']:,} {counter['kind']}/inference (median)"
            if counter
            else "no counter"
        )
        tr.write_line(
            f"{r['status'].upper():8} {r['case']} on {r['target']}: {agreement}; "
            f"{figure}; arena {r['arena_used_bytes']} B"
        )
        for name, reason in r["unavailable_references"].items():
            tr.write_line(f"         {name} unavailable: {reason}")
    path = config.getoption("hil_report")
    if path:
        tr.write_line(f"hil report: {path}")

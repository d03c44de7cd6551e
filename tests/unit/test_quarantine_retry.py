"""The quarantine file and its matching; retries after infrastructure errors
(and never after device faults, refusals or mismatches); both under pytest
with a fake device, so no emulator is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.case.retry import earlier_attempts, is_infrastructure, with_retries
from hil.errors import (
    DeviceError,
    DeviceFaultError,
    DeviceHangError,
    DeviceResetError,
    HilError,
    LinkError,
    ModelFileError,
    TargetError,
)
from hil.pytestplugin.quarantine import Quarantined, QuarantineFileError, find, load_quarantine
from tests.e2e.helpers import REPO, pytest_args, run_child

GOOD = """
[[quarantine]]
board = "nucleo-l4r5zi"
test = "examples/*::test_device_matches_host[*kws*]"
reason = "UART drops bytes at 921600 baud (issue #41)"

[[quarantine]]
instance = "a300-2"
test = "*"
reason = "flaky power supply"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quarantine.toml"
    path.write_text(text)
    return path


def test_a_quarantine_file_and_what_it_matches(tmp_path: Path) -> None:
    kws, anything = load_quarantine(write(tmp_path, GOOD))
    assert kws == Quarantined(
        test="examples/*::test_device_matches_host[*kws*]",
        reason="UART drops bytes at 921600 baud (issue #41)",
        board="nucleo-l4r5zi",
    )
    test = "examples/test_kws.py::test_device_matches_host[l4-1-kws_int8]"
    assert find([kws, anything], test, "nucleo-l4r5zi", "l4-1") is kws
    assert find([kws, anything], test, "nucleo-h743zi2", "h7-1") is None
    other = "examples/test_kws.py::test_device_matches_host[l4-1-vww_int8]"
    assert find([kws, anything], other, "nucleo-l4r5zi", "l4-1") is None
    assert find([kws, anything], other, "corstone300", "a300-2") is anything
    assert anything.describe() == "quarantined on instance a300-2: flaky power supply"
    assert load_quarantine(write(tmp_path, "")) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[quarantine]]\nboard = 'b'\ntest = '*'\n", "quarantine[0]: reason: missing (required)"),
        (
            "[[quarantine]]\nboard = 'b'\ninstance = 'i'\ntest = '*'\nreason = 'r'\n",
            "quarantine[0]: name either a board or an instance (one of them)",
        ),
        (
            "[[quarantine]]\ntest = '*'\nreason = 'r'\n",
            "quarantine[0]: name either a board or an instance (one of them)",
        ),
        (
            "[[quarantine]]\nboard = 'b'\ntest = '*'\nreason = 'r'\nowner = 'me'\n",
            "quarantine[0]: unknown field 'owner' (known: board, instance, test, reason)",
        ),
        (
            "[[quarantine]]\nboard = 'b'\ntest = 3\nreason = 'r'\n",
            "quarantine[0]: test: expected a non-empty string",
        ),
        ("quarantine = 'x'\n", "quarantine: expected [[quarantine]] tables"),
        ("[[skip]]\nboard = 'b'\n", "unknown field 'skip' (the file holds [[quarantine]] tables)"),
    ],
)
def test_a_bad_quarantine_file_says_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(QuarantineFileError) as err:
        load_quarantine(path)
    assert str(err.value) == f"{path}: {problem}"


def test_an_unreadable_quarantine_file(tmp_path: Path) -> None:
    with pytest.raises(QuarantineFileError, match="cannot read quarantine file"):
        load_quarantine(tmp_path / "absent.toml")
    with pytest.raises(QuarantineFileError, match="not valid TOML"):
        load_quarantine(write(tmp_path, "[[quarantine"))


# -- retries ---------------------------------------------------------------------


def test_which_errors_are_infrastructure() -> None:
    assert is_infrastructure(LinkError("socket disconnected"))
    assert is_infrastructure(DeviceHangError("INVOKE", 1.0, 3))
    assert is_infrastructure(DeviceResetError("restarted"))
    assert is_infrastructure(TargetError("QEMU exited"))
    assert not is_infrastructure(DeviceFaultError("HardFault", "INVOKE"))
    assert not is_infrastructure(DeviceError(3, "unsupported operator"))
    assert not is_infrastructure(ModelFileError("not a model"))
    assert not is_infrastructure(HilError("mismatch"))


class Script:
    """Fails with the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: HilError) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.recovered: list[BaseException] = []

    def attempt(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    def recover(self, exc: BaseException) -> None:
        self.recovered.append(exc)


def test_an_infrastructure_failure_is_retried_after_recovery() -> None:
    hang, gone = DeviceHangError("INVOKE", 1.0, 3), LinkError("socket disconnected")
    s = Script(hang, gone)
    assert with_retries(s.attempt, 2, s.recover) == ("ok", [hang, gone])
    assert s.calls == 3 and s.recovered == [hang, gone]
    s = Script()
    assert with_retries(s.attempt, 2, s.recover) == ("ok", []) and s.calls == 1


def test_retries_run_out_and_the_last_error_carries_the_earlier_ones() -> None:
    errors = [LinkError(f"gone {n}") for n in range(4)]
    s = Script(*errors)
    with pytest.raises(LinkError, match="gone 2") as err:
        with_retries(s.attempt, 2, s.recover)
    assert s.calls == 3 and earlier_attempts(err.value) == errors[:2]


@pytest.mark.parametrize(
    "error", [DeviceFaultError("HardFault", "INVOKE"), DeviceError(3, "no"), HilError("x")]
)
def test_faults_and_refusals_are_never_retried(error: HilError) -> None:
    s = Script(LinkError("gone"), error)
    with pytest.raises(type(error)) as err:
        with_retries(s.attempt, 5, s.recover)
    assert err.value is error and s.calls == 2 and earlier_attempts(err.value) == s.recovered


def test_a_device_that_does_not_come_back_ends_the_retries() -> None:
    s = Script(LinkError("gone"))

    def recover(exc: BaseException) -> None:
        raise TargetError("QEMU did not open its UART socket")

    with pytest.raises(TargetError, match="did not open") as err:
        with_retries(s.attempt, 3, recover)
    assert s.calls == 1 and [str(e) for e in earlier_attempts(err.value)] == ["gone"]


# -- under pytest, with a fake device ------------------------------------------

SUITE = """
import pytest
from types import SimpleNamespace
from hil import ModelCase
from hil.case.record import CaseRecord
from hil.errors import LinkError
import hil.pytestplugin.plugin

class FakeDut:
    def __init__(self, resolution):
        self.resolution = resolution
        self.board = resolution.board

    description = "mps2-an386 -> fake"
    variant = "release"
    cflags = ()
    build_id = "fake-build"
    engine_identity = ("", "")
    transport_used = "serial"
    image = None
    restarts = 0

    def recover(self, exc):
        self.restarts += 1
        return True

FAILURES = {"mismatch": 0, "link": 0}

class FakeResult:
    def __init__(self, passed):
        self.passed = passed
        self.profile = None
        self.unavailable = {}
        self.energy_error = None
    def failure_report(self):
        return "outputs disagree"
    def to_dict(self):
        return {"case": "m", "status": "pass" if self.passed else "mismatch", "board": "mps2-an386",
                "target": "fake", "arena_used_bytes": None,
                "aggregate": {"agreement": {}, "counter": None}, "model": {"sha256": "s"},
                "references": {}, "footprint": None, "unavailable_references": {}}
    def record(self, test=None, instance=None):
        return CaseRecord.from_json({**self.to_dict(), "test": test, "instance": instance})

def fake_run_case(dut, case, **kwargs):
    kind = case.name
    if kind == "link-then-pass" and FAILURES["link"] < 1:
        FAILURES["link"] += 1
        raise LinkError("socket disconnected")
    if kind == "always-link":
        raise LinkError("socket disconnected")
    return FakeResult(kind != "mismatch")

hil.pytestplugin.plugin.run_case = fake_run_case

@pytest.fixture
def dut(board):
    return FakeDut(board)

@pytest.mark.parametrize("name", ["link-then-pass", "always-link", "mismatch", "clean"])
def test_case(check_model, dut, name):
    check_model(ModelCase("absent.tflite", name=name))
"""


def test_retries_and_quarantine_under_pytest(tmp_path: Path) -> None:
    suite = tmp_path / "test_fake.py"
    suite.write_text(SUITE)
    quarantine = write(
        tmp_path,
        '[[quarantine]]\nboard = "mps2-an386"\ntest = "*::test_case[*-mismatch]"\n'
        'reason = "known bad (issue #7)"\n',
    )
    proc = run_child(
        pytest_args(str(suite), "--board=mps2-an386", "--hil-retries=2",
                    f"--hil-quarantine={quarantine}", "-rA"),
        cwd=REPO,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed, 2 passed, 1 xfailed" in out
    assert "XFAIL" in out and "quarantined on board mps2-an386: known bad (issue #7)" in out
    assert "hil quarantine: " in out and "(1 entries)" in out
    assert "hil: infrastructure failures retried up to 2 times" in out
    assert "HilFlakyWarning: link-then-pass on mps2-an386 passed on attempt 2 (flaky)" in out
    outcomes = {line.split()[0]: line for line in out.splitlines() if "::test_case[" in line}
    # The short summary appends " - <message>" only when the terminal is wide enough.
    assert outcomes["FAILED"].split()[1].endswith("test_fake.py::test_case[mps2-an386-always-link]")
    assert "test_fake.py::test_case[mps2-an386-mismatch] - quarantined" in outcomes["XFAIL"]
    assert "3 attempts, each an infrastructure failure" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[[quarantine]]\ntest = '*'\n")
    proc = run_child(
        pytest_args(str(suite), "--board=mps2-an386", f"--hil-quarantine={bad}"), cwd=REPO
    )
    assert proc.returncode == 4
    assert f"{bad}: quarantine[0]: reason: missing (required)" in proc.stderr


def test_nightly_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    suite = tmp_path / "test_fake.py"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    for extra, problem in (
        (["--hil-baseline=last-green"],
         "--hil-baseline compares with the results store: add --hil-store"),
        ([f"--hil-store={db}", "--hil-baseline=nightly"], "no baseline or run named 'nightly'"),
        (["--hil-retries=-1"], "argument --hil-retries: expected an integer >= 0, got -1"),
        (["--hil-cflags=-O1 x.c"], "extra compiler flag 'x.c': give options like -O1"),
        (['--hil-cflags=-D"X'], "--hil-cflags: No closing quotation"),
    ):
        proc = run_child(pytest_args(str(suite), "--board=mps2-an386", *extra), cwd=REPO)
        assert proc.returncode == 4, (extra, proc.stdout, proc.stderr)
        assert problem in proc.stderr, (extra, proc.stderr)

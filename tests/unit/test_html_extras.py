"""hil's figures in pytest-html's report (hil/pytestplugin/html_extras.py): a
suite with a fake device (no firmware) run under pytest with --html; the
page's header has hil's columns and the hil case's row fills them. The real
run, rendered in Chromium, is tests/e2e/test_report_profile_browser.py."""

from __future__ import annotations

import importlib.util
import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.e2e.helpers import REPO, pytest_args, run_child

SUITE = """
import pytest
from hil import ModelCase
from hil.case.record import Agreement, CaseRecord, CounterRecord, EngineRecord
import hil.pytestplugin.plugin

class FakeDut:
    def __init__(self, resolution):
        self.resolution = resolution
        self.board = resolution.board
    description = "mps2-an386 -> fake"
    variant = "release"
    cflags = ()
    build_id = "fake-build"
    engine_identity = ("hil", "9.9")
    image = None

class FakeResult:
    passed = True
    profile = None
    unavailable = {}
    energy_error = None
    def record(self, test=None, instance=None):
        return CaseRecord(
            case="m", status="pass", board="mps2-an386", test=test, instance=instance,
            engine=EngineRecord("hil", "9.9 <fake>"), arena_used_bytes=4321,
            agreement={"tflm": Agreement(7, 7, 0.0, bit_exact=7)},
            counter=CounterRecord("instructions", "fake", 1, 123456.0, 1, 1),
        )

hil.pytestplugin.plugin.run_case = lambda dut, case, **kwargs: FakeResult()

@pytest.fixture
def dut(board):
    return FakeDut(board)

def test_case(check_model, dut):
    check_model(ModelCase("absent.tflite", name="m"))

def test_plain():
    pass
"""


def blob(page: str) -> dict[str, object]:
    found = re.search(r'data-jsonblob="([^"]*)"', page)
    assert found, "no pytest-html data in the page"
    data: dict[str, object] = json.loads(unescape(found[1]))
    return data


def test_hils_columns_are_in_pytest_htmls_report(tmp_path: Path) -> None:
    if importlib.util.find_spec("pytest_html") is None:
        pytest.fail("pytest-html is not installed: it is a dev extra (tools/setup.sh installs it)")
    (tmp_path / "test_fake.py").write_text(SUITE)
    page = tmp_path / "report.html"
    proc = run_child(
        pytest_args(str(tmp_path / "test_fake.py"), "--board=mps2-an386", f"--html={page}",
                    "--self-contained-html"),
        cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = page.read_text()
    headers = re.findall(r'<th class="hil-(\w+)">([^<]*)</th>', html)
    assert headers == [
        ("engine", "hil engine"),
        ("counter", "hil counter / inference"),
        ("arena", "hil arena B"),
        ("agreement", "hil agreement"),
    ]
    tests = blob(html)["tests"]
    assert isinstance(tests, dict)
    rows = {
        name.rsplit("::", 1)[-1]: " ".join(str(c) for r in runs for c in r["resultsTableRow"])
        for name, runs in tests.items()
    }
    case = rows["test_case[mps2-an386]"]
    assert '<td class="col-hil-engine">hil 9.9 &lt;fake&gt;</td>' in case  # escaped
    assert '<td class="col-hil-counter">123,456 instructions</td>' in case
    assert '<td class="col-hil-arena">4,321</td>' in case
    assert '<td class="col-hil-agreement">tflm 7/7 (7 bit-exact)</td>' in case
    assert '<td class="col-hil-engine"></td>' in rows["test_plain"]  # no hil case: empty cells
    extras = [e for runs in tests["test_fake.py::test_case[mps2-an386]"] for e in runs["extras"]]
    assert any('class="hil-figures"' in str(e.get("content")) for e in extras)

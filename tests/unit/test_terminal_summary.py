"""hil's section of pytest's terminal summary: one line per case, its verdict
first. A case whose outputs agree but which regressed against its baseline
reads REGRESSION, not PASS; figures that are integers print as integers."""

from __future__ import annotations

import pytest

from hil.case.record import Agreement, CaseRecord, CounterRecord
from hil.pytestplugin import plugin


class Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(f"== {title}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


class Config:
    def __init__(self, results: list[CaseRecord]) -> None:
        self.stash = pytest.Stash()
        self.stash[plugin.RESULTS] = results

    def getoption(self, name: str) -> None:
        return None


def record(status: str, median: float, regression: str | None = None) -> CaseRecord:
    return CaseRecord(
        case="hello_world_int8",
        status=status,
        board="corstone300",
        target="corstone300 -> qemu mps3-an547",
        agreement={"tflm": Agreement(matched=4, total=4)},
        counter=CounterRecord("instructions", "QEMU -icount", 3500, median, 3600, 3600),
        arena_used_bytes=512,
        regression=regression,
    )


def summary(*results: CaseRecord) -> list[str]:
    tr = Terminal()
    plugin.pytest_terminal_summary(tr, Config(list(results)))  # type: ignore[arg-type]
    return tr.lines[1:]


def test_a_regressed_case_reads_regression_not_pass() -> None:
    regressed = record("pass", 3600.0, "hello_world_int8 on corstone300 regressed against x")
    lines = summary(record("pass", 3528.0), regressed)
    assert lines[0].startswith("PASS     hello_world_int8 on corstone300")
    assert lines[1].startswith("REGRESSION hello_world_int8 on corstone300")


def test_a_mismatch_stays_fail_even_when_it_also_regressed() -> None:
    (line,) = summary(record("fail", 3528.0, "regressed"))
    assert line.startswith("FAIL     hello_world_int8")


def test_integer_figures_print_as_integers() -> None:
    whole, half = summary(record("pass", 101064.0), record("pass", 3519.5))
    assert "; 101,064 instructions/inference (median)" in whole
    assert "; 3,519.5 instructions/inference (median)" in half

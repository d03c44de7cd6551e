"""The HTML report's page (jinja2 template, autoescaped): the newest run by
recorded time, log axes when models differ by more than 100x, profiles and
per-vector agreement, and every value escaped."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from hil.case.record import Agreement, CaseRecord, CounterRecord, EngineRecord, ModelRecord
from hil.measurements.profile import OpProfile, Profile
from hil.reports import plots
from hil.reports.html_page import render
from hil.reports.sources import load_sources


def record(model: str, median: float, board: str = "corstone300") -> CaseRecord:
    return CaseRecord(
        case=model,
        status="pass",
        board=board,
        test=f"tests/test_models.py::test_model[{board}-{model}]",
        backend="qemu",
        hil_version="0.1.0",
        engine=EngineRecord("tflm", "1373af069e cmsis-nn release"),
        model=ModelRecord(path=f"/models/{model}.tflite"),
        vector_count=10,
        agreement={
            "tflm": Agreement(10, 10, 0.0, bit_exact=10),
            "litert": Agreement(9, 10, 3.0, bit_exact=4),
        },
        counter=CounterRecord(
            "instructions", "QEMU -icount", int(median), median, int(median), int(median)
        ),
    )


def report(path: Path, created: str, cases: list[CaseRecord]) -> Path:
    doc = {"schema": "hil-report/1", "created": created, "cases": [c.to_json() for c in cases]}
    path.write_text(json.dumps(doc))
    return path


def newest_table(page: str) -> str:
    found = re.search(r'<table id="cases">(.*?)</table>', page, re.S)
    assert found
    return found[1]


def test_the_newest_run_is_chosen_by_time_not_by_argument_order(tmp_path: Path) -> None:
    new = report(tmp_path / "a.json", "2026-11-23T02:00:00+0000", [record("kws", 1e6, "new-board")])
    old = report(tmp_path / "b.json", "2026-11-22T02:00:00+0000", [record("kws", 1e6, "old-board")])
    # another zone, same instant order: 2026-11-22T23:00-05:00 is after 2026-11-23T02:00Z
    later = report(tmp_path / "c.json", "2026-11-22T23:00:00-0500", [record("kws", 1e6, "z-board")])
    data = load_sources([new, old])
    assert [c.record.board for c in data.latest] == ["new-board"]
    assert "new-board" in newest_table(render(data)) and "old-board" not in newest_table(
        render(data)
    )
    data = load_sources([later, new, old])
    assert [c.record.board for c in data.latest] == ["z-board"]
    assert data.runs[0].endswith("b.json")  # oldest first


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures the report draws, before they become PNG bytes."""
    figures: list[Figure] = []
    real = plots._png

    def keep(fig: Figure) -> bytes:
        figures.append(fig)
        return real(fig)

    monkeypatch.setattr(plots, "_png", keep)
    return figures


def test_counters_that_differ_by_more_than_100x_get_a_log_axis(drawn: list[Figure]) -> None:
    small, large = record("hello", 2_000.0), record("person_detect", 500_000_000.0)
    assert plots.counters_per_model([small, large]) is not None
    assert drawn[-1].axes[0].get_yscale() == "log"
    assert "log scale" in drawn[-1].axes[0].get_ylabel()
    assert plots.counters_per_model([small, replace(large, counter=small.counter)]) is not None
    assert drawn[-1].axes[0].get_yscale() == "linear"
    assert plots.needs_log([1.0, 100.0]) is False and plots.needs_log([1.0, 101.0]) is True


def test_the_page_has_a_normalised_view_only_when_values_spread(tmp_path: Path) -> None:
    wide = load_sources([report(tmp_path / "w.json", "2026-11-23T02:00:00+0000",
                                [record("hello", 2_000.0), record("big", 900_000.0)])])  # fmt: skip
    page = render(wide)
    assert 'id="spread"' in page and "450.0\u00d7" in page
    narrow = load_sources([report(tmp_path / "n.json", "2026-11-23T02:00:00+0000",
                                  [record("hello", 2_000.0), record("big", 9_000.0)])])  # fmt: skip
    assert 'id="spread"' not in render(narrow)


def test_profiles_agreement_and_provenance_are_on_the_page(tmp_path: Path) -> None:
    ops = [OpProfile(0, "CONV_2D", 750), OpProfile(1, "SOFTMAX", 50)]
    profile = Profile("instructions", "QEMU -icount", ops, 1000, 1100)
    profiled = replace(record("kws", 1000.0), profile=profile)
    page = render(
        load_sources([report(tmp_path / "p.json", "2026-11-23T02:00:00+0000", [profiled])])
    )
    section = re.search(r'<section id="profiles">(.*?)</section>', page, re.S)
    assert section
    assert re.findall(r'<td class="l op">([^<]*)</td>', section[1]) == ["CONV_2D", "SOFTMAX"]
    assert "75.0%" in section[1] and "5.0%" in section[1]
    agreement = re.search(r'<table id="agreement">(.*?)</table>', page, re.S)
    assert agreement
    cells = re.findall(r"<td>([^<]*)</td>", agreement[1].split("litert")[1])
    assert cells[:5] == [
        "10",
        "4",
        "5",
        "1",
        "3",
    ]  # vectors, bit-exact, within tolerance, off, worst
    provenance = re.search(r'<table id="provenance">(.*?)</table>', page, re.S)
    assert provenance
    for fact in ("test_model[corstone300-kws]", "cmsis-nn", "1373af069e", "0.1.0", "qemu"):
        assert fact in provenance[1]


def test_a_page_without_profiles_says_nothing_about_them(tmp_path: Path) -> None:
    page = render(
        load_sources(
            [report(tmp_path / "p.json", "2026-11-23T02:00:00+0000", [record("kws", 1.0)])]
        )
    )
    assert 'id="profiles"' not in page


def test_every_value_is_escaped(tmp_path: Path) -> None:
    hostile = replace(
        record("kws", 1000.0),
        model=ModelRecord(path="/m/<script>alert(1).tflite"),
        test='t.py::test[<img src=x onerror="alert(2)">]',
        board="<b>board</b>",
    )
    page = render(
        load_sources([report(tmp_path / "x.json", "2026-11-23T02:00:00+0000", [hostile])])
    )
    assert "<script" not in page and "<img src=x" not in page and "<b>board" not in page
    assert "&lt;script&gt;alert(1)" in page and "&lt;b&gt;board&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page


def test_an_older_record_takes_its_reports_hil_version(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    case = {k: v for k, v in record("kws", 1.0).to_json().items() if k != "hil_version"}
    doc = {"schema": "hil-report/1", "created": "2026-01-01T00:00:00+0000", "hil_version": "0.0.9",
           "cases": [case]}  # fmt: skip
    path.write_text(json.dumps(doc))
    (only,) = load_sources([path]).latest
    assert only.record.hil_version == "0.0.9"

"""Baselines and regressions: the baseline key and its board-type fallback,
named baselines, per-board thresholds ([regression] in a board file), energy,
`hil history` and the JUnit properties of a row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hil.boards.board import load_board
from hil.boards.regression import RegressionThresholds
from hil.cli import main
from hil.errors import BoardFileError, HilError
from hil.results.junit import junit_properties
from hil.results.record import RunContext
from hil.results.recorder import Recorder
from hil.results.regressions import compare_rows, resolve_baseline
from hil.results.store import ResultStore
from tests.unit.test_results_store import make_row

BOARD = Path(__file__).resolve().parents[2] / "boards" / "mps2-an386.toml"


def row(run_id: str, instance: str = "a300", **fields: Any) -> dict[str, Any]:
    return {**make_row(run_id, instance, median=fields.pop("median", 5000.0)), **fields}


def fixed(counter: float = 2.0, energy: float = 5.0) -> Any:
    return lambda board: RegressionThresholds(counter, energy)


def test_the_baseline_is_the_same_case_on_the_same_instance_else_the_board_type() -> None:
    rows = [
        row("run-01", "a300-1", median=5000.0),
        row("run-01", "a300-2", median=9000.0),
        row("run-02", "a300-1", median=5000.0, vector_seed=2),  # another vector set
        row("run-02", "a300-3", median=5000.0),  # new instance: no history of its own
        row("run-02", "a300-2", median=9000.0, firmware_variant="test"),  # another variant
        row("run-02", "an386", board="mps2-an386", median=100.0),  # another board type
    ]
    found = {f.instance: f for f in compare_rows(rows, thresholds=fixed()).findings}
    assert found["a300-1"].baseline is None  # seed 2 never ran before
    assert found["a300-2"].baseline is None  # the test image is not compared with release
    assert found["an386"].baseline is None
    fallback = found["a300-3"]
    assert fallback.baseline is not None and fallback.baseline["instance"] == "a300-2"
    assert fallback.notes[0] == (
        "baseline from instance a300-2 (same board type; none yet on a300-3)"
    )
    assert fallback.regressions == []  # 5,000 is below a300-2's 9,000


def test_a_changed_model_has_no_baseline_by_its_name_alone() -> None:
    rows = [row("run-01"), row("run-02", model_sha256="e" * 64, median=9e9)]
    (f,) = compare_rows(rows, thresholds=fixed()).findings
    assert f.baseline is None and not f.regressed


def test_board_thresholds_and_a_forced_one() -> None:
    rows = [row("run-01"), row("run-02", median=5200.0)]  # +4%
    assert compare_rows(rows, thresholds=fixed(counter=5.0)).regressions == []
    (f,) = compare_rows(rows, thresholds=fixed(counter=3.0)).regressions
    assert f.regressions == ["instructions median 5,000 -> 5,200 (+4.00%, threshold 3%)"]
    assert compare_rows(rows, thresholds=fixed(counter=9.0), counter_pct=1.0).regressions


def test_energy_past_its_threshold_is_a_regression() -> None:
    measured = {"energy": {"kind": "measured"}}
    rows = [
        row("run-01", energy_uj=10.0, record=measured),
        row("run-02", energy_uj=10.4, record=measured),  # +4%
        row("run-03", energy_uj=11.0, record=measured),  # +5.8% over run-02
    ]
    assert compare_rows(rows, run_id="run-02", thresholds=fixed()).regressions == []
    (f,) = compare_rows(rows, thresholds=fixed()).regressions
    assert f.regressions == ["energy 10.4 -> 11 µJ per inference (+5.77%, threshold 5%)"]
    modeled = [rows[0], row("run-02", energy_uj=20.0, record={"energy": {"kind": "modeled"}})]
    (f,) = compare_rows(modeled, thresholds=fixed()).findings
    assert not f.regressed and f.notes == [
        "energy not compared: modeled now, measured in the baseline"
    ]


def test_flaky_rows_are_green_and_say_so() -> None:
    rows = [row("run-01"), row("run-02", status="flaky", attempts=2), row("run-03")]
    (f,) = compare_rows(rows, run_id="run-02", thresholds=fixed()).findings
    assert not f.regressed and "flaky: passed on attempt 2" in f.notes
    (f,) = compare_rows(rows, thresholds=fixed()).findings
    assert f.baseline is not None and f.baseline["run_id"] == "run-02"


def test_cflags_are_not_part_of_the_key_but_are_noted() -> None:
    rows = [row("run-01"), row("run-02", firmware_cflags="-O1", median=5400.0)]
    (f,) = compare_rows(rows, thresholds=fixed()).findings
    assert f.regressions == ["instructions median 5,000 -> 5,400 (+8.00%, threshold 2%)"]
    assert "firmware built with extra flags '-O1' (baseline: 'none')" in f.notes


def test_resolving_a_baseline() -> None:
    runs = [{"run_id": "run-01"}, {"run_id": "run-02"}]
    named = [{"name": "release-1.0", "run_id": "run-01"}]
    assert resolve_baseline("last-green", runs, named) == (None, "last-green")
    assert resolve_baseline("release-1.0", runs, named) == (
        "run-01", "baseline release-1.0 (run run-01)",
    )  # fmt: skip
    assert resolve_baseline("run-02", runs, named) == ("run-02", "run run-02")
    with pytest.raises(HilError, match=r"no baseline or run named 'v2' \(named baselines: "
                       r"release-1.0; latest runs: run-01, run-02; or last-green\)"):  # fmt: skip
        resolve_baseline("v2", runs, named)


def test_the_recorder_judges_a_row_against_earlier_runs_only(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path) as store:
        for r in (row("run-01", median=5000.0), row("run-02", median=5500.0)):
            store.add(r, {"started": r["time"]})
    rec = Recorder(path, RunContext("run-03", "abc", started="2025-01-03T02:00:00+0000"))
    rec.open_run()
    mine = row("run-03", median=5600.0, time="2025-01-03T02:00:01+0000")
    rec.add(mine)
    f = rec.judge(mine, None)  # last green: run-02
    assert f.baseline is not None and f.baseline["run_id"] == "run-02" and not f.regressed
    f = rec.judge(mine, "run-01")
    assert f.regressions == ["instructions median 5,000 -> 5,600 (+12.00%, threshold 2%)"]
    rec.close()


def test_named_baselines_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path) as store:
        for r in (row("run-01"), row("run-02", median=5200.0), row("run-03", median=5300.0)):
            store.add(r, {"started": r["time"]})
    monkeypatch.delenv("HIL_STORE", raising=False)
    assert main(["baseline", "list"]) == 2
    assert (
        'name the results store: --store DB, HIL_STORE, or store = "..." in the '
        "project's pyproject.toml (tool.hil table)" in capsys.readouterr().out
    )
    monkeypatch.setenv("HIL_STORE", str(path))
    assert main(["baseline", "list"]) == 0
    assert "no named baselines" in capsys.readouterr().out
    assert main(["baseline", "set", "good", "run-01"]) == 0
    assert "baseline good -> run run-01" in capsys.readouterr().out
    assert main(["baseline", "set", "good", "run-02"]) == 0
    assert "baseline good -> run run-02 (was run run-01)" in capsys.readouterr().out
    assert main(["baseline", "set", "bad", "run-99"]) == 2
    assert "no run 'run-99'" in capsys.readouterr().out
    assert main(["baseline", "set", "last-green", "run-01"]) == 2
    assert main(["baseline", "set", "run-01", "run-01"]) == 2
    assert "is a run id" in capsys.readouterr().out
    assert main(["baseline", "list"]) == 0
    assert "good" in capsys.readouterr().out
    # run-03 against run-02 (+1.9%) passes; against last-green (run-02 too) as well
    assert main(["results", "regressions", str(path), "--baseline", "good", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"] == "baseline good (run run-02)"
    assert data["findings"][0]["baseline_counter_median"] == 5200.0
    assert main(["baseline", "set", "good", "run-01"]) == 0
    assert main(["results", "regressions", str(path), "--baseline", "good"]) == 1


def test_history_prints_the_trend_newest_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path) as store:
        for r in (
            row("run-01", median=5000.0),
            row("run-01", "an386", board="mps2-an386", median=7000.0),
            row("run-02", median=5500.0, firmware_cflags="-O1"),
            row("run-03", status="timeout", median=None),
            row("run-04", median=5225.0),
        ):
            store.add(r, {"started": r["time"]})
    args = ["history", "hello_world_int8", "--board", "corstone300", "--store", str(path)]
    assert main([*args, "--json", "-"]) == 0
    trend = json.loads(capsys.readouterr().out)
    assert [(t["run_id"], t["status"]) for t in trend] == [
        ("run-01", "pass"), ("run-02", "pass"), ("run-03", "timeout"), ("run-04", "pass"),
    ]  # fmt: skip
    assert [t["counter_delta_pct"] for t in trend] == [None, 10.0, None, -5.0]
    assert main(args) == 0
    table = capsys.readouterr().out
    lines = [line for line in table.splitlines() if "a300" in line]
    assert len(lines) == 4 and "+10.00%" in lines[1] and "-O1" in lines[1] and "-5.00%" in lines[3]
    assert main([*args[:2], "--board", "an386", "--store", str(path), "--json", "-"]) == 0
    assert [t["instance"] for t in json.loads(capsys.readouterr().out)] == ["an386"]
    assert main(["history", "kws", "--store", str(path)]) == 2
    assert "no rows for model 'kws' in the store" in capsys.readouterr().out


def test_a_board_file_regression_table(tmp_path: Path) -> None:
    text = BOARD.read_text()
    noisy = tmp_path / "noisy.toml"
    noisy.write_text(text + "\n[regression]\ncounter_pct = 5.5\nenergy_pct = 8\n")
    assert load_board(noisy).regression == RegressionThresholds(5.5, 8.0)
    assert load_board(BOARD).regression == RegressionThresholds(2.0, 5.0)
    for table, problem in (
        ("counter_pct = -1", "regression.counter_pct: must be >= 0, got -1"),
        ('counter_pct = "5%"', "regression.counter_pct: expected a number of percent, got '5%'"),
        ("counter_pc = 5", "regression: unknown key 'counter_pc' (known: counter_pct, energy_pct)"),
    ):
        noisy.write_text(text + f"\n[regression]\n{table}\n")
        with pytest.raises(BoardFileError) as err:
            load_board(noisy)
        assert str(err.value) == f"{noisy}: {problem}"


def test_junit_properties_of_a_row() -> None:
    r = row("run-01", firmware_build_id="b1", firmware_variant="release", stack_bytes=640,
            energy_uj=None, attempts=2, status="flaky")  # fmt: skip
    props = dict(junit_properties(r))
    assert props["hil_board"] == "corstone300" and props["hil_instance"] == "a300"
    assert props["hil_backend"] == "qemu" and props["hil_firmware_build_id"] == "b1"
    assert props["hil_model_sha256"] == "f" * 64 and props["hil_status"] == "flaky"
    assert (props["hil_counter_kind"], props["hil_counter_median"]) == ("instructions", "5000")
    assert props["hil_instructions_median"] == "5000" and props["hil_tflm_matched"] == "100/100"
    assert (props["hil_arena_bytes"], props["hil_flash_bytes"]) == ("896", "90000")
    assert props["hil_stack_bytes"] == "640" and props["hil_attempts"] == "2"
    assert "hil_energy_uj" not in props
    assert dict(junit_properties({**r, "energy_uj": 12.5}))["hil_energy_uj"] == "12.5"
    modeled = {**r, "energy_uj": 12.5, "record": {"energy": {"kind": "modeled"}}}
    assert dict(junit_properties(modeled))["hil_energy_modeled_uj"] == "12.5"
    assert not any(name.startswith("hil_link_") for name in props)  # no counters recorded
    link = {"requests": 40, "retries": 3, "bad_frames": 2, "naks": 1, "resyncs": 0}
    linked = dict(junit_properties({**r, "record": {"link": link}}))
    assert (linked["hil_link_retries"], linked["hil_link_bad_frames"]) == ("3", "2")
    assert linked["hil_link_resyncs"] == "0" and "hil_link_timeouts" not in linked

"""The results store (SQLite, WAL): round trip, concurrent writers, crashes,
schema version; regressions and the nightly report on synthetic rows."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hil.case.model_case import ModelCase
from hil.case.record import CaseRecord, DeviceFacts, EngineRecord, FirmwareRecord
from hil.cli import main
from hil.errors import DeviceFaultError, DeviceHangError, HilError, LinkError
from hil.firmware.footprint import Footprint
from hil.results.html_report import render_html
from hil.results.record import (
    RunContext,
    error_record,
    row_from_error,
    row_from_record,
    status_of_error,
)
from hil.results.regressions import compare_rows
from hil.results.store import SCHEMA_VERSION, ResultStore, StoreError


def make_row(
    run_id: str,
    instance: str = "a300",
    model: str = "hello_world_int8",
    *,
    status: str = "pass",
    kind: str = "instructions",
    median: float = 5000.0,
    arena: int = 896,
    flash: int = 90_000,
    matched: int = 100,
) -> dict[str, Any]:
    agreement = {"tflm": {"matched": matched, "total": 100, "max_abs_diff": 0.0}}
    return {
        "run_id": run_id,
        "time": f"2025-01-{run_id[-2:]}T02:00:00+0000",
        "git_revision": "abc123",
        "board": "corstone300",
        "instance": instance,
        "backend": "qemu",
        "model_name": model,
        "model_sha256": "f" * 64,
        "vector_seed": 1,
        "vector_count": 100,
        "vector_files": [],
        "agreement": agreement,
        "counter_kind": kind,
        "counter_method": "synthetic",
        "counter_min": median,
        "counter_median": median,
        "counter_p90": median,
        "counter_max": median,
        "flash_bytes": flash,
        "arena_bytes": arena,
        "reference_versions": {"tflm": "1.0"},
        "status": status,
        "record": {"case": model, "status": status, "synthetic": True},
    }


def add(store: ResultStore, row: dict[str, Any]) -> None:
    store.add(row, {"started": row["time"], "host": "test"})


def test_round_trip_keeps_every_field(store_location: str) -> None:
    with ResultStore(store_location) as store:
        add(store, make_row("run-01"))
        (row,) = store.rows()
        assert row["agreement"]["tflm"]["matched"] == 100
        assert row["record"] == {"case": "hello_world_int8", "status": "pass", "synthetic": True}
        assert row["counter_kind"] == "instructions" and row["energy_uj"] is None
        (run,) = store.runs()
        assert (run["run_id"], run["cases"], run["passed"]) == ("run-01", 1, 1)
        if store.engine.name != "sqlite":
            return
        mode = store.engine.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert store.engine.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_status_outside_the_list_is_refused(store_location: str) -> None:
    with ResultStore(store_location) as store, pytest.raises(StoreError, match="'broken'"):
        add(store, make_row("run-01", status="broken"))


def test_a_store_from_a_newer_hil_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    ResultStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this hil's"):
        ResultStore(path)


def _writer(path: str, worker: int, rows: int) -> None:
    with ResultStore(path) as store:  # every writer also races to create the schema
        for i in range(rows):
            add(store, make_row("run-07", instance=f"inst{worker}", model=f"m{i}"))


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with ResultStore(path) as store:
        rows = store.rows()
        assert len(rows) == 160
        assert {(r["instance"], r["model_name"]) for r in rows} == {
            (f"inst{w}", f"m{i}") for w in range(4) for i in range(40)
        }
        assert store.engine.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _crash_mid_write(path: str) -> None:
    store = ResultStore(path)
    for i in range(3):
        add(store, make_row("run-08", model=f"m{i}"))
    store.engine.conn.execute("BEGIN IMMEDIATE" if store.engine.name == "sqlite" else "BEGIN")
    store.engine.conn.execute("INSERT INTO runs (run_id, started) VALUES ('half', 'now')")
    os.kill(os.getpid(), signal.SIGKILL)  # dies holding an open transaction


def test_a_crashed_run_leaves_earlier_rows_intact(store_location: str) -> None:
    path = store_location
    proc = multiprocessing.get_context("spawn").Process(target=_crash_mid_write, args=(path,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    with ResultStore(path) as store:
        assert [r["model_name"] for r in store.rows()] == ["m0", "m1", "m2"]
        assert [r["run_id"] for r in store.runs()] == ["run-08"]
        if store.engine.name == "sqlite":
            assert store.engine.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        add(store, make_row("run-09"))  # and the store takes new rows


def test_errors_map_to_statuses() -> None:
    assert status_of_error(DeviceHangError("INVOKE", 1.0, 3)) == "timeout"
    assert status_of_error(DeviceFaultError("HardFault", "INVOKE")) == "device-fault"
    assert status_of_error(LinkError("gone")) == "link-error"
    assert status_of_error(HilError("bad model")) == "error"


def test_rows_from_records_and_errors(tmp_path: Path) -> None:
    case = ModelCase(tmp_path / "m.tflite", vectors=7, seed=3)
    (tmp_path / "m.tflite").write_bytes(b"model")
    run = RunContext("run-10", "abc")
    record = {
        "case": "m",
        "status": "pass",
        "board": "corstone300",
        "backend": "qemu",
        "target": "a300 [corstone300] -> qemu",
        "firmware": {"build_id": "b1", "variant": "release"},
        "engine": "hil 0.1.0",
        "model": {"sha256": "s"},
        "arena_used_bytes": 512,
        # flash = text + rodata + data, static RAM = data + bss
        "footprint": Footprint(900, 100, 0, 64, 0, 0, 0).to_dict(),
        "references": {"tflm": {"version": "1.2", "agreement": "exact"}},
        "aggregate": {
            "agreement": {"tflm": {"matched": 7, "total": 7}},
            "counter": {
                "kind": "instructions",
                "method": "m",
                "per_inference": {"min": 1, "median": 2.0, "p90": 3, "max": 4},
            },
        },
    }
    row = row_from_record(CaseRecord.from_json(record), case, run, "a300")
    assert (row["flash_bytes"], row["static_ram_bytes"], row["arena_bytes"]) == (1000, 64, 512)
    assert (row["counter_kind"], row["counter_median"], row["counter_p90"]) == (
        "instructions", 2.0, 3,
    )  # fmt: skip
    assert (row["vector_seed"], row["vector_count"], row["engine_version"]) == (3, 7, "0.1.0")
    assert row["reference_versions"] == {"tflm": "1.2"}
    device = DeviceFacts(
        board="corstone300", backend="qemu", target="t", firmware=FirmwareRecord("b1"),
        engine=EngineRecord("hil", "0.1.0"),
    )  # fmt: skip
    err = row_from_error(
        error_record(DeviceHangError("INVOKE", 1.0, 2), case, device), case, run, "a300"
    )
    assert err["status"] == "timeout" and "device hang" in err["error"]
    assert err["model_sha256"] == hashlib.sha256(b"model").hexdigest()
    with ResultStore(tmp_path / "r.db") as store:
        store.add(row)
        store.add(err)
        assert [r["status"] for r in store.rows()] == ["pass", "timeout"]


# -- regressions ---------------------------------------------------------------


def store_with(path: str | Path, *rows: dict[str, Any]) -> str:
    """A store at `path` (a file, or a postgresql:// URL) holding `rows`."""
    with ResultStore(path) as store:
        for row in rows:
            add(store, row)
    return str(path)


def test_no_regression_between_equal_runs(tmp_path: Path) -> None:
    rows = [make_row("run-01"), make_row("run-02", median=5050.0)]  # +1% < 2%
    cmp = compare_rows(rows)
    assert cmp.run_id == "run-02" and not cmp.regressions
    assert cmp.findings[0].counter_delta_pct == pytest.approx(1.0)


def test_a_slower_counter_past_the_threshold_is_a_regression(tmp_path: Path) -> None:
    rows = [make_row("run-01"), make_row("run-02", median=5150.0)]
    (finding,) = compare_rows(rows).regressions
    assert finding.regressions == ["instructions median 5,000 -> 5,150 (+3.00%, threshold 2%)"]
    assert not compare_rows(rows, counter_pct=5).regressions


def test_different_counter_kinds_are_never_compared() -> None:
    rows = [make_row("run-01", kind="instructions"), make_row("run-02", kind="cycles", median=9e9)]
    (finding,) = compare_rows(rows).findings
    assert not finding.regressed and finding.counter_delta_pct is None
    assert "counters not compared: cycles now, instructions in the baseline" in finding.notes[0]


def test_arena_flash_stack_and_new_failures_are_regressions() -> None:
    rows = [
        *(make_row("run-01", i) for i in "abcde"),
        make_row("run-02", "a", arena=900),
        make_row("run-02", "b", flash=90_004),
        make_row("run-02", "c", status="mismatch", matched=97),
        {**make_row("run-02", "d"), "status": "timeout", "error": "device hang"},
        make_row("run-02", "e", arena=800, flash=80_000),  # smaller: fine
    ]
    rows[4]["stack_bytes"] = 1000
    rows.append({**make_row("run-03", "e"), "stack_bytes": 1004})
    found = {f.instance: f.regressions for f in compare_rows(rows, run_id="run-02").findings}
    assert found["a"] == ["arena 896 -> 900 B (+4 B)"]
    assert found["b"] == ["flash 90,000 -> 90,004 B (+4 B)"]
    assert found["c"] == ["new output mismatch: tflm 97/100 vectors agree (baseline 100/100)"]
    assert found["d"] == ["new failure: timeout: device hang"]
    assert found["e"] == []
    (e,) = compare_rows(rows).findings  # run-03 against the last green row, run-02's
    assert e.baseline is not None and e.baseline["run_id"] == "run-02"
    assert e.regressions == ["arena 800 -> 896 B (+96 B)", "flash 80,000 -> 90,000 B (+10,000 B)"]
    (e,) = compare_rows(rows, baseline="run-01").findings
    assert e.regressions == ["stack 1,000 -> 1,004 B (+4 B)"]


def test_a_mismatch_without_a_baseline_is_a_regression() -> None:
    (f,) = compare_rows([make_row("run-01", status="mismatch", matched=0)]).findings
    assert f.regressions == ["new output mismatch: tflm 0/100 vectors agree"]


def test_last_pass_skips_failed_runs_and_explicit_baselines_work() -> None:
    rows = [
        make_row("run-01", median=5000.0),
        make_row("run-02", status="device-fault", median=1.0),
        make_row("run-03", median=5200.0),
    ]
    (f,) = compare_rows(rows).findings  # against run-01, the last pass
    assert f.baseline is not None and f.baseline["run_id"] == "run-01" and f.regressed
    (f,) = compare_rows(rows, baseline="run-02").findings  # a failed baseline: 1 -> 5200
    assert f.baseline is not None and f.baseline["run_id"] == "run-02" and f.regressed
    with pytest.raises(HilError, match="baseline run 'run-99' has no rows"):
        compare_rows(rows, baseline="run-99")
    (f,) = compare_rows(rows[:1]).findings
    assert f.notes == ["no baseline to compare with"] and not f.regressed
    failing = [make_row("run-01", status="timeout"), make_row("run-02", status="timeout")]
    (f,) = compare_rows(failing, baseline="run-01").findings
    assert not f.regressed and f.notes[0] == "timeout, as in the baseline (timeout)"


def test_regressions_command_and_report(
    tmp_path: Path, store_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store_with(
        store_location,
        make_row("run-01", "a300"),
        make_row("run-01", "a386"),
        make_row("run-02", "a300"),
        make_row("run-02", "a386", median=6000.0),
    )
    assert main(["results", "list", str(path)]) == 0
    assert "run-01" in capsys.readouterr().out
    assert main(["results", "regressions", str(path), "--json", "-"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["run"] == "run-02" and data["regressions"] == 1
    assert [f["instance"] for f in data["findings"] if f["regressed"]] == ["a386"]
    assert main(["results", "regressions", str(path), "--threshold-pct", "25"]) == 0
    assert "0 regressions" in capsys.readouterr().out
    assert main(["results", "regressions", str(path), "--baseline", "nope"]) == 2
    html = tmp_path / "nightly.html"
    assert main(["results", "report", str(path), "--html", str(html)]) == 0
    page = html.read_text()
    assert page.count("<table>") == 2 and "<script" not in page and "http" not in page
    assert '<tr class="regression"><td>hello_world_int8</td>' in page
    assert "+20.00%" in page and "1 regression in 2 cases" in page


def test_html_escapes_what_it_shows() -> None:
    rows = [make_row("run-01", model="<b>x</b>"), make_row("run-02", model="<b>x</b>")]
    page = render_html(compare_rows(rows))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_recorder_stores_a_case_that_died(tmp_path: Path, store_location: str) -> None:
    """What check_model and `hil run --store` do when run_case raises."""
    from types import SimpleNamespace

    from hil.boards import load_board, resolve
    from hil.results.recorder import Recorder

    class NoAnswer:  # a device that never said HELLO
        resolution = resolve(load_board("mps2-an386"))
        image = SimpleNamespace(build_id="img1")
        description = "mps2-an386 -> qemu"
        variant = "release"
        cflags = ()
        engine_identity = ("", "")  # nothing is known before the device answers
        transport_used = "memory"

        @property
        def build_id(self) -> str:
            raise HilError("the device is not started")

    recorder = Recorder(store_location, "run-11")
    case = ModelCase(tmp_path / "absent.tflite")
    device = DeviceFacts.of(NoAnswer())
    recorder.error(DeviceFaultError("HardFault", "INVOKE"), case, device, "a386", "t::x")
    recorder.close()
    with ResultStore(store_location) as store:
        (row,) = store.rows()
    assert (row["status"], row["instance"], row["firmware_build_id"]) == (
        "device-fault", "a386", "img1",
    )  # fmt: skip
    assert row["model_sha256"] is None and row["record"]["error"].startswith("DeviceFaultError")
    assert row["transport_used"] == row["record"]["transport_used"] == "memory"

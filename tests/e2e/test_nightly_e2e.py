"""The nightly regression over a rack of emulated instances, end to end (issue
#6 acceptance): one row per case per instance under -n 3; two concurrent runs
never share an instance; a killed xdist worker leaves every finished case in
the store and the run incomplete; a slower build and corrupted outputs are
regressions against last-green; a killed emulator is retried and the case
recorded as flaky; JUnit XML carries each case's figures."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import pytest

from hil.rack.lock import InstanceLock
from hil.results.store import ResultStore
from tests.e2e.helpers import REPO, child_env, processes_tagged, pytest_args, run_child

THREE = """
[[instance]]
name = "a300-1"
board = "corstone300"

[[instance]]
name = "a300-2"
board = "corstone300"

[[instance]]
name = "a386"
board = "mps2-an386"
"""

TWO = """
[[instance]]
name = "a300"
board = "corstone300"

[[instance]]
name = "a386"
board = "mps2-an386"
"""

MANY_CASES = """
import pytest
from pathlib import Path
from hil import ModelCase

CASES = [ModelCase(Path({model!r}), name=f"hello_{{seed}}", vectors={vectors}, seed=seed)
         for seed in range({count})]

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(check_model, case):
    check_model(case)
"""


def hil_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_child([sys.executable, "-m", "hil.cli", *args], cwd=REPO, timeout=120)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The nightly's store: a SQLite file, or a database in a throwaway
    PostgreSQL cluster (tests/pg_cluster.py)."""
    if request.param == "sqlite":
        return str(tmp_path / "results.db")
    from tests.pg_cluster import fresh_database

    return fresh_database(request.getfixturevalue("pg_server"), f"n_{uuid.uuid4().hex[:12]}")


def rows_of(db: Path | str) -> list[dict[str, object]]:
    with ResultStore(db) as store:
        return store.rows()


def test_three_instances_under_n3_one_row_per_case_per_instance(
    tmp_path: Path, process_tag: str, store_db: str
) -> None:
    rack = write(tmp_path / "rack.toml", THREE)
    db, junit = store_db, tmp_path / "junit.xml"
    proc = run_child(
        pytest_args("examples", f"--hil-rack={rack}", "-n", "3", f"--hil-store={db}",
                    f"--hil-lock-dir={tmp_path / 'locks'}", f"--junitxml={junit}", "-v"),
        cwd=REPO, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "scheduling tests via InstanceScheduling" in out
    with ResultStore(db) as store:
        (run,) = store.runs()
        rows = store.rows()
    assert sorted(str(r["instance"]) for r in rows) == ["a300-1", "a300-2", "a386"]
    assert {r["model_name"] for r in rows} == {"hello_world_int8"}
    assert (run["expected"], run["cases"], run["passed"]) == (3, 3, 3) and run["finished"]
    assert f"run {run['run_id']} in {db}: complete" in out
    workers = {r["record"]["instance"]: r for r in rows}  # type: ignore[index]
    assert set(workers) == {"a300-1", "a300-2", "a386"}
    # JUnit: each case's figures as properties, the same as its store row.
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == 3
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        row = next(r for r in rows if r["instance"] == props["hil_instance"])
        assert case.get("name") == f"test_device_matches_host[{row['instance']}-hello_world_int8]"
        assert props["hil_board"] == row["board"] and props["hil_backend"] == "qemu"
        assert props["hil_firmware_build_id"] == row["firmware_build_id"]
        assert props["hil_model_sha256"] == row["model_sha256"]
        assert props["hil_counter_kind"] == "instructions"
        assert props["hil_counter_method"] == row["counter_method"]
        assert float(props["hil_counter_median"]) == row["counter_median"]
        assert int(props["hil_arena_bytes"]) == row["arena_bytes"]
        assert int(props["hil_flash_bytes"]) == row["flash_bytes"]
        assert props["hil_status"] == "pass" and props["hil_tflm_matched"] == "100/100"
        # Modeled from the counter and the board's cited figures (docs/energy.md).
        assert float(props["hil_energy_uj"]) == row["energy_uj"] > 0
        assert props["hil_energy_modeled_uj"] == props["hil_energy_uj"]
    assert processes_tagged(process_tag) == []


def _intervals(history: list[dict[str, object]]) -> list[tuple[str, float, float]]:
    """(run, acquired, released) per hold, from an instance's usage log."""
    held: dict[tuple[object, object], float] = {}
    out = []
    for entry in history:
        key = (entry["run"], entry["pid"])
        if entry["event"] == "acquired":
            held[key] = float(entry["time"])  # type: ignore[arg-type]
        else:
            out.append((str(entry["run"]), held.pop(key), float(entry["time"])))  # type: ignore[arg-type]
    assert not held, f"a hold was never released: {held}"
    return out


def test_two_concurrent_runs_never_use_one_instance_at_once(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    rack = write(tmp_path / "rack.toml", TWO)
    suite = write(
        tmp_path / "test_cases.py",
        MANY_CASES.format(model=str(models_dir / "hello_world_int8.tflite"), vectors=100, count=2),
    )
    locks, db = tmp_path / "locks", tmp_path / "results.db"
    common = [str(suite), f"--hil-rack={rack}", f"--hil-store={db}", f"--hil-lock-dir={locks}"]
    env = child_env(HIL_PROCESS_TAG=process_tag)
    runs = [
        subprocess.Popen(pytest_args(*common, *extra), cwd=REPO, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for extra in (["-n", "2"], [])
    ]  # fmt: skip
    outs = [p.communicate(timeout=600)[0] for p in runs]
    for p, out in zip(runs, outs, strict=True):
        assert p.returncode == 0, out
    with ResultStore(db) as store:
        stored = store.runs()
        rows = store.rows()
    assert len(stored) == 2 and all(r["cases"] == 4 and r["finished"] for r in stored)
    for instance in ("a300", "a386"):
        holds = _intervals(InstanceLock(locks, instance).history())
        assert {run for run, _, _ in holds} == {r["run_id"] for r in stored}
        for (_, start_a, end_a), (_, start_b, end_b) in combinations(holds, 2):
            assert end_a <= start_b or end_b <= start_a, (instance, holds)
        # Every row was written while its run held the instance.
        for row in (r for r in rows if r["instance"] == instance):
            spans = [(s, e) for run, s, e in holds if run == row["run_id"]]
            stamp = time.mktime(time.strptime(str(row["time"]), "%Y-%m-%dT%H:%M:%S%z"))
            assert any(s - 1 <= stamp <= e + 1 for s, e in spans), (row["time"], spans)
    assert processes_tagged(process_tag) == []


def _worker_tagged(pid: int, tag: str) -> bool:
    """Whether process `pid` runs with our HIL_PROCESS_TAG (one of our workers)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"HIL_PROCESS_TAG={tag}".encode() in env


def test_a_killed_worker_leaves_finished_cases_and_an_incomplete_run(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    rack = write(tmp_path / "rack.toml", TWO)
    suite = write(
        tmp_path / "test_cases.py",
        MANY_CASES.format(model=str(models_dir / "hello_world_int8.tflite"), vectors=300, count=4),
    )
    locks, db = tmp_path / "locks", tmp_path / "results.db"
    args = [str(suite), f"--hil-rack={rack}", f"--hil-store={db}", f"--hil-lock-dir={locks}"]
    run = subprocess.Popen(
        pytest_args(*args, "-n", "2", "-v"), cwd=REPO, text=True,
        env=child_env(HIL_PROCESS_TAG=process_tag),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        done = 0
        while done < 1 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.1)
            if db.is_file():
                with sqlite3.connect(db) as conn:
                    try:
                        done = conn.execute(
                            "SELECT COUNT(*) FROM results WHERE instance = 'a386'"
                        ).fetchone()[0]
                    except sqlite3.OperationalError:  # the run is still creating the store
                        continue
        time.sleep(1.0)  # into the next case (each takes seconds), past the last one's report
        holder = InstanceLock(locks, "a386").holder()
        assert done >= 1 and holder is not None, "no case of a386 finished in time"
        worker = int(holder["pid"])
        assert worker != run.pid and _worker_tagged(worker, process_tag)
        before_kill = {r["test"] for r in rows_of(db)}
        os.kill(worker, signal.SIGKILL)
        out = run.communicate(timeout=600)[0]
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 1, out
    crashed = f"worker '{holder['worker']}' crashed while running"
    assert crashed in out
    rows = rows_of(db)
    stored = {str(r["test"]) for r in rows}
    assert before_kill <= stored  # every case finished before the kill is still there
    passed = {line.split(" PASSED ")[1].strip() for line in out.splitlines() if " PASSED " in line}
    assert len(passed) == 7  # the other three cases of a386 ran on the replacement worker
    assert {Path(t).name for t in passed} <= {Path(t).name for t in stored}
    # The killed case has a row only if it ended between its row and its report.
    assert len(rows) in (7, 8)
    ((run_id,),) = {(r["run_id"],) for r in rows}
    state = f"incomplete ({len(rows)} of 8 cases; interrupted: worker {holder['worker']} died"
    assert f"run {run_id} in {db}: {state} running " in out
    # The next run says so, as does `hil results list`.
    again = run_child(pytest_args(*args, "--board=a300", "-k", "hello_0"), cwd=REPO,
                      HIL_PROCESS_TAG=process_tag)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"hil: WARNING: earlier run {run_id} (started " in again.stdout
    assert f"is {state} running " in again.stdout
    listed = hil_cli("results", "list", str(db))
    line = next(x for x in listed.stdout.splitlines() if run_id in x)
    assert f"incomplete ({len(rows)} of 8 cases;" in line
    assert processes_tagged(process_tag) == []


def test_a_slower_build_is_a_counter_regression_with_both_figures(
    tmp_path: Path, process_tag: str, store_db: str
) -> None:
    db = store_db
    args = ["examples", "--board=corstone300", f"--hil-store={db}"]
    first = run_child(pytest_args(*args), cwd=REPO, HIL_PROCESS_TAG=process_tag)
    assert first.returncode == 0, first.stdout + first.stderr
    # -O1 instead of -O2: the same outputs, more instructions.
    slow = run_child(
        pytest_args(*args, "--hil-cflags=-O1", "--hil-baseline=last-green"),
        cwd=REPO, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    out = slow.stdout + slow.stderr
    assert slow.returncode == 1, out
    before, after = rows_of(db)
    assert before["status"] == after["status"] == "pass"
    assert (before["firmware_cflags"], after["firmware_cflags"]) == ("", "-O1")
    assert before["firmware_build_id"] != after["firmware_build_id"]
    then, now = float(before["counter_median"]), float(after["counter_median"])  # type: ignore[arg-type]
    delta = (now - then) / then * 100
    assert delta > 2
    expected = f"instructions median {then:,.0f} -> {now:,.0f} ({delta:+.2f}%, threshold 2%)"
    assert "hello_world_int8 on corstone300 regressed against last-green" in out
    assert expected in out
    # The terminal summary names the verdict: REGRESSION, not PASS (the outputs agree).
    assert "REGRESSION hello_world_int8 on corstone300" in slow.stdout
    assert "PASS     hello_world_int8 on corstone300" not in slow.stdout
    assert "note: firmware built with extra flags '-O1' (baseline: 'none')" in out
    assert "hil: extra firmware flags: -O1" in out
    report = hil_cli("results", "regressions", str(db), "--json", "-")
    assert report.returncode == 1, report.stdout + report.stderr
    (finding,) = json.loads(report.stdout)["findings"]
    # Modeled energy follows the instruction count, so it regresses with it.
    assert finding["regressions"][0] == expected
    assert [r.split(" ")[0] for r in finding["regressions"]] == ["instructions", "energy"]
    assert (finding["baseline_counter_median"], finding["counter_median"]) == (then, now)
    history = hil_cli("history", "hello_world_int8", "--board", "corstone300", "--store", str(db))
    assert history.returncode == 0 and f"{delta:+.2f}%" in history.stdout
    assert processes_tagged(process_tag) == []


CORRUPTING = """
import os
from pathlib import Path
from hil import ModelCase
from hil.link.protocol import DebugOp

CASE = ModelCase(Path({model!r}), vectors=5, seed=3)

def test_outputs(dut, check_model):
    if os.environ.get("CORRUPT"):
        dut.session.debug(DebugOp.CORRUPT_OUTPUT, 0)
    check_model(CASE)
"""


def test_corrupted_outputs_are_a_mismatch_regression(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    suite = write(
        tmp_path / "test_outputs.py",
        CORRUPTING.format(model=str(models_dir / "hello_world_int8.tflite")),
    )
    db = tmp_path / "results.db"
    args = [str(suite), "--board=mps2-an386", "--hil-firmware=test", f"--hil-store={db}"]
    clean = run_child(pytest_args(*args), cwd=REPO, HIL_PROCESS_TAG=process_tag)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    bad = run_child(pytest_args(*args, "--hil-baseline=last-green"), cwd=REPO,
                    HIL_PROCESS_TAG=process_tag, CORRUPT="1")  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    base_run = rows_of(db)[0]["run_id"]
    assert (
        f"hello_world_int8 on mps2-an386 regressed against last-green (run {base_run}, "
        "instance mps2-an386):\n  new output mismatch: tflm 0/5 vectors agree (baseline 5/5)"
    ) in bad.stdout
    report = hil_cli("results", "regressions", str(db), "--json", "-")
    assert report.returncode == 1
    (finding,) = json.loads(report.stdout)["findings"]
    assert finding["status"] == "mismatch" and finding["baseline_status"] == "pass"
    assert "new output mismatch: tflm 0/5 vectors agree (baseline 5/5)" in finding["regressions"]
    assert processes_tagged(process_tag) == []


RETRIED = """
import pytest
from pathlib import Path
from hil import ModelCase
from hil.link.protocol import DebugOp, FaultKind

CASE = ModelCase(Path({model!r}), vectors=5, seed=4)


def kill_emulator(dut):
    dut.target.child.proc.kill()
    dut.target.child.proc.wait()


def sabotage(dut, monkeypatch, action, times):
    real, count = dut.infer, [0]

    def infer(*args, **kwargs):
        if count[0] < times:
            count[0] += 1
            action(dut)
        return real(*args, **kwargs)

    monkeypatch.setattr(dut, "infer", infer)


def test_emulator_dies_once(dut, check_model, monkeypatch):
    sabotage(dut, monkeypatch, kill_emulator, 1)
    check_model(CASE)


def test_emulator_always_dies(dut, check_model, monkeypatch):
    sabotage(dut, monkeypatch, kill_emulator, 99)
    check_model(CASE)


def test_device_faults(dut, check_model, monkeypatch):
    sabotage(dut, monkeypatch, lambda d: d.session.debug(DebugOp.FAULT, FaultKind.HARD), 99)
    check_model(CASE)


def test_outputs_corrupted(dut, check_model, monkeypatch):
    corrupt = lambda d: d.session.debug(DebugOp.CORRUPT_OUTPUT, 0)  # noqa: E731
    sabotage(dut, monkeypatch, corrupt, 1)
    try:
        check_model(CASE)
    finally:
        dut.session.debug(DebugOp.CORRUPT_OUTPUT, 0xFFFFFFFF)
"""


def test_a_killed_emulator_is_retried_and_the_case_recorded_as_flaky(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    suite = write(
        tmp_path / "test_retried.py",
        RETRIED.format(model=str(models_dir / "hello_world_int8.tflite")),
    )
    db, junit = tmp_path / "results.db", tmp_path / "junit.xml"
    proc = run_child(
        pytest_args(str(suite), "--board=corstone300", "--hil-firmware=test", "--hil-retries=2",
                    "--hil-timeout=2", f"--hil-store={db}", f"--junitxml={junit}", "-rA"),
        cwd=REPO, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "3 failed, 1 passed" in out
    rows = {str(r["test"]).rsplit("::", 1)[1].split("[")[0]: r for r in rows_of(db)}
    once = rows["test_emulator_dies_once"]
    assert (once["status"], once["attempts"]) == ("flaky", 2)
    assert str(once["error"]).startswith("attempt 1: LinkError: ")
    assert once["record"]["earlier_errors"][0].startswith("LinkError: ")  # type: ignore[index]
    assert "HilFlakyWarning: hello_world_int8 on corstone300 passed on attempt 2 (flaky)" in out
    always = rows["test_emulator_always_dies"]
    assert (always["status"], always["attempts"]) == ("link-error", 3)
    assert "3 attempts, each an infrastructure failure" in out
    fault = rows["test_device_faults"]  # never retried: it says something about the firmware
    assert (fault["status"], fault["attempts"]) == ("device-fault", 1)
    corrupted = rows["test_outputs_corrupted"]  # never retried
    assert (corrupted["status"], corrupted["attempts"]) == ("mismatch", 1)
    props = {
        c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
        for c in ET.parse(junit).getroot().iter("testcase")
    }
    flaky = props["test_emulator_dies_once[corstone300]"]
    assert flaky["hil_status"] == "flaky" and flaky["hil_attempts"] == "2"
    assert props["test_emulator_always_dies[corstone300]"]["hil_status"] == "link-error"
    assert processes_tagged(process_tag) == []


def test_hil_run_stores_a_complete_run_with_its_extra_flags(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    db = tmp_path / "results.db"
    model = str(models_dir / "hello_world_int8.tflite")
    proc = run_child(
        [sys.executable, "-m", "hil.cli", "run", model, "--board", "mps2-an386", "--vectors", "3",
         "--store", str(db), "--cflags=-O1 -DHIL_BENCH_NOTE=1"],
        cwd=REPO, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with ResultStore(db) as store:
        (run,) = store.runs()
        (row,) = store.rows()
    assert (run["expected"], run["cases"]) == (1, 1) and run["finished"]
    assert row["firmware_cflags"] == "-O1 -DHIL_BENCH_NOTE=1" and row["status"] == "pass"
    assert row["record"]["firmware"]["cflags"] == ["-O1", "-DHIL_BENCH_NOTE=1"]  # type: ignore[index]
    listed = hil_cli("results", "list", str(db))
    assert f"{run['run_id']} " in listed.stdout and "│ complete " in listed.stdout
    bad = run_child(
        [sys.executable, "-m", "hil.cli", "run", model, "--board", "mps2-an386", "--cflags=x.c"],
        cwd=REPO,
    )
    assert bad.returncode == 2
    assert "extra compiler flag 'x.c': give options like -O1" in bad.stdout

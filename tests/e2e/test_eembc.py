"""hil's firmware in MLPerf Tiny (EEMBC) mode, driven by hil's EEMBC session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.eembc_dut import EembcDut
from hil.link.eembc import EembcError
from hil.models import ModelFile
from tests.e2e.helpers import REPO, pytest_args, run_child


def test_example_suite_over_eembc(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args("examples", "--board=corstone300-eembc", f"--hil-report={report}", "-v"),
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hil: corstone300-eembc -> qemu mps3-an547 (no FVP on PATH)" in proc.stdout
    (case,) = json.loads(report.read_text())["cases"]
    assert case["target"].endswith("over EEMBC")
    tflm = case["aggregate"]["agreement"]["tflm"]
    assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
    counter = case["aggregate"]["counter"]
    assert counter["kind"] == "device_timer_us" and "m-lap-us" in counter["method"]
    assert case["engine"].startswith("EEMBC firmware: hil-eembc")
    assert case["arena_used_bytes"] is None  # EEMBC cannot report it; no figure is invented


def test_device_side_protocol_errors(models_dir: Path) -> None:
    with EembcDut(resolve(load_board("corstone300-eembc"))) as dut:
        dut.load(ModelFile(models_dir / "hello_world_int8.tflite"))
        s = dut.session
        assert dut.info is not None and dut.info.model == "hello_world_int8"
        with pytest.raises(EembcError, match=r"Unknown command: frobnicate"):
            s.command("frobnicate")
        with pytest.raises(EembcError, match="requires a number of bytes > 0"):
            s.command("db load 0")
        s.command("db load 2")
        with pytest.raises(EembcError, match="Invalid hex digit"):
            s.command("db zz00")
        with pytest.raises(EembcError, match="Input db has 0 bytes, expected 1"):
            s.infer(1, 0)
        with pytest.raises(EembcError, match="Inference iterations must be >0"):
            s.command("infer 0")
        s.load(b"\x10")  # still answers correctly after all that
        run = s.infer(2, 1)
        assert len(run.results) == 1 and run.us_per_inference > 0


def test_link_benchmark_prints_three_methods() -> None:
    proc = run_child([sys.executable, "benchmarks/link.py", "--kib", "2", "--runs", "1"], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.endswith("%")]
    assert [r.split("  ")[0] for r in rows] == [
        "raw bytes (DEBUG SINK)",
        "hil protocol (SET_INPUT)",
        "EEMBC hex text (db load, db)",
    ]

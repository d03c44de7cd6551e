"""`hil compare-models`: float hello_world against its int8 conversion."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import REPO, run_child

HIL = [sys.executable, "-m", "hil.cli"]


def run_compare(models_dir: Path, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    out = tmp_path / "cmp.json"
    proc = run_child(
        [
            *HIL,
            "compare-models",
            str(models_dir / "hello_world_float.tflite"),
            str(models_dir / "hello_world_int8.tflite"),
            "--board",
            "corstone300",
            "--vectors",
            "40",
            "--json",
            str(out),
            *extra,
        ],
        cwd=REPO,
    )
    return proc, (json.loads(out.read_text()) if out.is_file() else None)


def test_compare_models_reports_every_figure(models_dir: Path, tmp_path: Path) -> None:
    proc, data = run_compare(models_dir, tmp_path, "--max-abs-error", "0.2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    b_vs_a = data["b_vs_a"]
    assert b_vs_a["vectors"] == 40 and b_vs_a["top1_agreement"] is None  # a regression model
    assert 0 < b_vs_a["mean_abs_error"] <= b_vs_a["max_abs_error"] < 0.2
    ratios = data["ratios_b_over_a"]
    assert ratios["model_bytes"] == 2704 / 3164
    assert ratios["macs"] == 1.0 and ratios["params"] == 1.0
    assert ratios["arena_bytes"] > 0 and ratios["counter"] > 0
    # Both figures are modeled from instruction counts with one board's figures,
    # so their ratio is the counters' ratio.
    assert ratios["energy"] == pytest.approx(ratios["counter"])
    assert "ratio B/A: energy per inference (modeled)" in proc.stdout
    assert data["counter_kind"] == "instructions"
    for side in ("a", "b"):
        assert data[side]["aggregate"]["agreement"]["tflm"]["matched"] == 40
    assert "ratio B/A: MACs" in proc.stdout


def test_compare_models_threshold_sets_exit_code(models_dir: Path, tmp_path: Path) -> None:
    proc, data = run_compare(models_dir, tmp_path, "--max-abs-error", "0.001")
    assert proc.returncode == 1
    assert "exceeds 0.001" in proc.stdout
    assert data["b_vs_a"]["max_abs_error"] > 0.001

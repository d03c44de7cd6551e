"""The README's main job: the example suite on both QEMU boards."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import REPO, processes_tagged, pytest_args, run_child


def test_example_suite_passes_on_both_boards(tmp_path: Path, process_tag: str) -> None:
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args(
            "examples",
            "--board=corstone300",
            "--board=mps2-an386",
            f"--hil-report={report}",
            f"--hil-html={tmp_path / 'report.html'}",
            "-v",
        ),
        cwd=REPO,
        HIL_PROCESS_TAG=process_tag,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The header says which backend ran and why.
    assert "hil: corstone300 -> qemu mps3-an547 (no FVP on PATH)" in proc.stdout
    assert "hil: mps2-an386 -> qemu mps2-an386 (first choice)" in proc.stdout
    assert "test_device_matches_host[corstone300-hello_world_int8] PASSED" in proc.stdout
    data = json.loads(report.read_text())
    cases = {c["board"]: c for c in data["cases"]}
    assert set(cases) == {"corstone300", "mps2-an386"}
    for case in cases.values():
        assert case["status"] == "pass"
        assert case["backend"] == "qemu"
        agreement = case["aggregate"]["agreement"]
        tflm = agreement["tflm"]
        assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
        assert agreement["litert"]["matched"] == 100
        counter = case["aggregate"]["counter"]
        assert counter["kind"] == "instructions" and counter["per_inference"]["min"] > 0
        assert len(case["vectors"]) == 100
        # Modeled energy from the board's cited figures: labelled, and exactly
        # V x uA/MHz x median instructions.
        energy = case["energy"]
        assert energy["modeled"] and "modeled" in energy["label"] and energy["source"]
        median = counter["per_inference"]["median"]
        joules = energy["energy_per_inference"]
        assert joules["unit"] == "J"
        assert abs(joules["value"] - 3.0 * 120e-12 * int(median)) < 1e-18
        assert case["energy_unavailable"] is None
    html = (tmp_path / "report.html").read_text()  # rendered in a browser: test_html_report.py
    assert html.count('class="modeled"') == 2 and html.count('<img class="plot"') == 3
    assert cases["corstone300"]["target"] == "corstone300 -> qemu mps3-an547 (no FVP on PATH)"
    assert processes_tagged(process_tag) == []

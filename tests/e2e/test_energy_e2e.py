"""Measured energy under pytest, end to end on QEMU: a board's cases measured
with the meter `--hil-meter` names, or a rack instance's `power_meter`. The meter
is a FAKE PPK2 on a pseudo-terminal (tests/fakes/fake_ppk2.py) streaming a
synthetic trace of five marker windows of known energy; the device is real
(QEMU), so the run, the capture around the timed inferences, the figure in
the report and in the results store, and the failures are all hil's own."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hil.results.store import ResultStore
from tests.e2e.helpers import REPO, pytest_args, run_child
from tests.energy_synth import five_pulses
from tests.fakes.fake_ppk2 import FakePpk2

MODELS = REPO.parent / "shared" / "models"
SUITE = f"""
from pathlib import Path
from hil import ModelCase

def test_hello(check_model):
    check_model(ModelCase(Path({str(MODELS / "hello_world_int8.tflite")!r}), vectors=3, seed=2))
"""
START, STOP = (0x06,), (0x07,)
# The fake streams its whole trace at once; on a loaded machine its thread can
# stall, so the capture waits for a longer quiet spell than a real PPK2 needs.
PPK2 = "ppk2:port={port},source_mv=3300,drain_s=2.0"


@pytest.fixture
def fake() -> Iterator[FakePpk2]:
    fake = FakePpk2(five_pulses(noise=0.01))
    yield fake
    fake.close()


Outcome = tuple[int, str, list[dict[str, Any]]]


def run_suite(tmp_path: Path, *args: str) -> Outcome:
    suite = tmp_path / "test_energy_suite.py"
    suite.write_text(SUITE)
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args(str(suite), f"--hil-report={report}", "-rA", *args), cwd=REPO, timeout=300
    )
    cases = json.loads(report.read_text())["cases"] if report.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, cases


def run_with_meter(tmp_path: Path, fake: FakePpk2, inferences: int) -> Outcome:
    return run_suite(
        tmp_path,
        "--board=mps2-an386",
        f"--hil-meter={PPK2.format(port=fake.port)}",
        f"--hil-energy-inferences={inferences}",
    )


def test_a_board_measured_with_the_meter_named_on_the_command_line(
    tmp_path: Path, fake: FakePpk2
) -> None:
    code, out, cases = run_with_meter(tmp_path, fake, 5)
    assert code == 0, out
    assert f"hil energy: measured with {PPK2.format(port=fake.port)}" in out
    (case,) = cases
    assert case["status"] == "pass" and case["energy_unavailable"] is None
    energy = case["energy"]
    assert energy["modeled"] is False and energy["meter"]["model"] == "Nordic PPK2 (HW 9173)"
    assert energy["windows"] == 5 and energy["inferences"] == 5
    assert energy["core_clock"]["value"] == 25_000_000
    expected = fake.synth.expected_energy_per_inference_j()
    got = energy["energy_per_inference"]["value"]
    assert abs(got - expected) / expected < 1e-3
    # One capture around the timed inferences, after the outputs were checked.
    assert fake.wait_commands(7).count(START) == 1 and STOP in fake.commands


def test_a_wrong_window_count_fails_the_case_and_keeps_its_results(
    tmp_path: Path, fake: FakePpk2
) -> None:
    code, out, cases = run_with_meter(tmp_path, fake, 4)
    assert code == 1, out
    assert "energy: found 5 marker window(s) in the trace, expected 4" in out
    (case,) = cases
    assert case["status"] == "error" and case["energy"] is None
    assert case["energy_error"].startswith("found 5 marker window(s)")
    assert case["aggregate"]["agreement"]["tflm"]["matched"] == 3  # the outputs are kept


def test_a_rack_instance_is_measured_with_its_power_meter(tmp_path: Path, fake: FakePpk2) -> None:
    rack = tmp_path / "rack.toml"
    rack.write_text(
        '[[instance]]\nname = "m4-meter"\nboard = "mps2-an386"\n'
        f'power_meter = {{ driver = "ppk2", port = "{fake.port}", source_mv = 3300, '
        "drain_s = 2.0 }\n"
    )
    db = tmp_path / "results.db"
    code, out, cases = run_suite(
        tmp_path, f"--hil-rack={rack}", f"--hil-store={db}", "--hil-energy-inferences=5",
        f"--hil-lock-dir={tmp_path / 'locks'}",
    )  # fmt: skip
    assert code == 0, out
    (case,) = cases
    assert case["instance"] == "m4-meter" and case["energy"]["modeled"] is False
    with ResultStore(db) as store:
        (row,) = store.rows()
    expected = fake.synth.expected_energy_per_inference_j()
    assert row["energy_uj"] == pytest.approx(expected * 1e6, rel=1e-3)
    # --hil-meter is for --board runs; a rack names each instance's meter.
    code, out, _ = run_suite(tmp_path, f"--hil-rack={rack}", f"--hil-meter=ppk2:port={fake.port}")
    assert code == 4 and "--hil-meter is for --board runs" in out


def test_an_absent_meter_fails_each_case_with_what_was_looked_for(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tty"
    code, out, cases = run_suite(
        tmp_path, "--board=mps2-an386", f"--hil-meter=ppk2:port={missing},source_mv=3300"
    )
    assert code == 1, out
    assert f"mps2-an386: power meter ppk2:port={missing},source_mv=3300: PPK2: cannot open" in out
    assert cases == []


def test_hil_run_measures_with_a_meter(tmp_path: Path, fake: FakePpk2) -> None:
    out = tmp_path / "run.json"
    proc = run_child(
        [sys.executable, "-m", "hil.cli", "run", str(MODELS / "hello_world_int8.tflite"),
         "--board", "mps2-an386", "--vectors", "2", "--energy-inferences", "5",
         "--meter", PPK2.format(port=fake.port), "--json", str(out)],
        cwd=REPO, timeout=300, COLUMNS="400",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    energy = json.loads(out.read_text())["energy"]
    assert energy["kind"] == "measured" and energy["windows"] == 5
    expected = fake.synth.expected_energy_per_inference_j()
    assert energy["energy_per_inference"]["value"] == pytest.approx(expected, rel=1e-3)
    assert "per inference, measured (Nordic PPK2 (HW 9173))" in proc.stdout

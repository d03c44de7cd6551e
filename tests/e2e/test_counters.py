"""Counters mean what they say: calibrated against a loop of known length,
deterministic across repeats on QEMU, and the profile adds up."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut


@pytest.mark.parametrize("iterations", [50_000, 1_000_000])
def test_calibration_loop_measures_within_1pct(test_dut: Dut, iterations: int) -> None:
    cal = test_dut.session.calibrate(iterations)
    measured = test_dut.measure(cal.kind, cal.ticks)
    assert measured is not None and measured.kind == "instructions"
    expected = 2 * iterations  # subs + bne per iteration
    assert abs(measured.value - expected) <= 0.01 * expected, (measured.value, expected)


def test_repeats_are_identical_and_profile_adds_up(test_dut: Dut, models_dir: Path) -> None:
    case = ModelCase(models_dir / "hello_world_int8.tflite", vectors=4, seed=3)
    result = run_case(test_dut, case, warmup=2, repeats=5, profile=True)
    assert result.passed
    for vector in result.vectors:
        values = [m.value for m in vector.measurements]
        assert len(values) == 5 and len(set(values)) == 1, values
        assert 0 < vector.stack_bytes < 32 * 1024
    summary = result.counter_summary()
    assert summary is not None and summary["repeats_identical"] is True
    per = summary["per_inference"]
    assert per["min"] <= per["median"] <= per["p90"] <= per["max"]
    profile = result.profile
    assert profile is not None
    assert [o.op for o in profile.ops] == ["FULLY_CONNECTED"] * 3
    assert all(o.value > 0 for o in profile.ops)
    assert abs(profile.op_sum - profile.whole) <= 0.02 * profile.whole
    assert profile.whole == result.vectors[0].measurements[0].value
    record = result.to_dict()
    assert record["profile"]["unit"] == "instructions"
    flash = record["footprint"]["flash"]
    assert flash["unit"] == "B" and flash["value"] > 1000


def test_repeats_out_of_range_are_refused(test_dut: Dut) -> None:
    with pytest.raises(ValueError, match=r"repeats must be 1\.\.254"):
        test_dut.session.invoke(repeats=0)

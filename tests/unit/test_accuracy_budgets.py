"""Budgets: parsing, verdicts with figure and budget side by side, and gates
that cannot be evaluated are errors, never silent passes."""

from __future__ import annotations

from typing import Any

import pytest

from hil.accuracy.budgets import BudgetError, Budgets, judge
from hil.cli import main


def row(**over: Any) -> dict[str, Any]:
    base = {
        "variant": "v", "accuracy": 0.95, "accuracy_drop_points": 1.5, "arena_bytes": 2000,
        "flash_bytes": 100_000, "counter_kind": "instructions", "latency_s": None,
        "energy_uj": 50.0, "energy_modeled": True,
    }  # fmt: skip
    base.update(over)
    return base


def test_parse_units() -> None:
    b = Budgets.parse({"max_accuracy_drop": "2%", "max_arena": "256KiB", "max_flash": "1MB",
                       "max_latency": "5ms", "max_energy": "20uJ"})
    assert (b.accuracy_drop_points, b.arena_bytes, b.flash_bytes) == (2.0, 262144, 1_000_000)
    assert b.latency_s == pytest.approx(0.005) and b.energy_j == pytest.approx(20e-6)
    assert not Budgets.parse({}).any()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_arena": "lots"}, "arena 'lots': expected a number"),
        ({"max_arena": "3 parsecs"}, "expected a number with one of the units"),
        ({"max_accuracy_drop": "two"}, "percentage points"),
        ({"max_ram": "1KiB"}, "unknown budget"),
    ],
)
def test_bad_budgets(values: dict[str, str], message: str) -> None:
    with pytest.raises(BudgetError, match=message):
        Budgets.parse(values)


def test_verdicts_side_by_side() -> None:
    b = Budgets.parse({"max_accuracy_drop": "2", "max_arena": "1KiB", "max_energy": "60uJ"})
    verdicts = judge(row(), b, baseline=False)
    assert [(v.gate, v.ok) for v in verdicts] == [
        ("accuracy drop", True), ("arena", False), ("energy (modeled)", True)]
    assert verdicts[1].describe() == "v: arena 2000 B over budget 1024 B"
    assert judge(row(accuracy_drop_points=2.01), b, baseline=False)[0].ok is False
    # the baseline has no drop against itself
    assert [v.gate for v in judge(row(), b, baseline=True)] == ["arena", "energy (modeled)"]


def test_gates_that_cannot_be_evaluated_are_errors() -> None:
    with pytest.raises(BudgetError, match="needs a cycle counter"):
        judge(row(), Budgets(latency_s=0.01), baseline=False)
    with pytest.raises(BudgetError, match="no energy figure"):
        judge(row(energy_uj=None, energy_unavailable="no figures"), Budgets(energy_j=1.0), False)
    with pytest.raises(BudgetError, match="labelled dataset"):
        judge(row(accuracy=None), Budgets(accuracy_drop_points=2), baseline=False)
    with pytest.raises(BudgetError, match="arena"):
        judge(row(arena_bytes=None), Budgets(arena_bytes=10), baseline=False)
    cycles = row(counter_kind="cycles", latency_s=0.002)
    assert judge(cycles, Budgets(latency_s=0.001), baseline=False)[0].ok is False


def test_cli_bad_usage_exits_2_before_any_device(
    models_dir: Any, tmp_path: Any, capsys: Any
) -> None:
    model = str(models_dir / "digits_cnn_int8.tflite")
    code = main(["variants", model, model, "--dataset", str(tmp_path / "none.npz"),
                 "--board", "corstone300", "--max-arena", "big"])
    assert code == 2 and "arena 'big'" in capsys.readouterr().out
    code = main(["eval", model, "--dataset", str(tmp_path / "none.npz"), "--board",
                 "corstone300"])
    assert code == 2 and "does not exist" in capsys.readouterr().out
    code = main(["eval", model, "--dataset", str(tmp_path / "none.npz"), "--board",
                 "corstone300", "--shard", "3/2"])
    assert code == 2

"""pytest fixtures for accuracy: `check_accuracy(case)` evaluates a
ModelCase's dataset on the device and fails if any sample's prediction differs
from the TFLM host's; `check_variants(cases)` builds the variants table and
fails on a broken budget, with the figure and the budget side by side."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from hil.accuracy.budgets import Budgets, judge
from hil.accuracy.dataset import load_dataset
from hil.accuracy.evaluate import Evaluation, evaluate
from hil.accuracy.variants import variants_table
from hil.case.model_case import ModelCase
from hil.errors import HilError


def _evaluate(dut: Any, case: ModelCase, shard: tuple[int, int] | None) -> Evaluation:
    if case.dataset is None:
        raise HilError(f"case {case.name}: no dataset (ModelCase(dataset=...))")
    ds = load_dataset(case.dataset)
    if shard is not None:
        ds = ds.take_shard(*shard)
    return evaluate(dut, case.model, ds, references=case.references)


def _fail_if_device_differs(ev: Evaluation) -> None:
    differing = ev.disagreements("tflm") if "tflm" in ev.scores else []
    if differing or (ev.case is not None and not ev.case.passed):
        pytest.fail(
            f"{ev.model.name}: device differs from the TFLM host on samples {differing[:20]}"
            + ("" if ev.case is None or ev.case.passed else "\n" + ev.case.failure_report()),
            pytrace=False,
        )


@pytest.fixture
def check_accuracy(dut: Any, request: pytest.FixtureRequest) -> Callable[..., Evaluation]:
    def check(case: ModelCase, shard: tuple[int, int] | None = None) -> Evaluation:
        ev = _evaluate(dut, case, shard)
        figures = {s: ev.figures(s) for s in ev.scores}
        request.node.user_properties.append(("hil_accuracy", json.dumps(figures)))
        _fail_if_device_differs(ev)
        return ev

    return check


@pytest.fixture
def check_variants(dut: Any, request: pytest.FixtureRequest) -> Callable[..., list[dict[str, Any]]]:
    def check(cases: Sequence[ModelCase], budgets: dict[str, str] | None = None) -> list[
            dict[str, Any]]:
        if not cases:
            raise HilError("check_variants needs the baseline case and at least one variant")
        evs = [_evaluate(dut, c, None) for c in cases]
        rows = variants_table(evs, dut.board.clock_hz)
        request.node.user_properties.append(("hil_variants", json.dumps(rows, default=str)))
        for ev in evs:
            _fail_if_device_differs(ev)
        broken = []
        for n, (row, case) in enumerate(zip(rows, cases, strict=True)):
            limits = Budgets.parse({**(budgets or {}), **case.budgets})
            broken += [v.describe() for v in judge(row, limits, baseline=n == 0) if not v.ok]
        if broken:
            pytest.fail("budget broken:\n  " + "\n  ".join(broken), pytrace=False)
        return rows

    return check

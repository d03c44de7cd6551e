"""The project's device tests, written as hil's README shows: model cases with
paths relative to the project (or its [tool.hil] models folder)."""

from __future__ import annotations

import pytest

from hil import ModelCase

CASES = [
    ModelCase("hello_world_int8.tflite", vectors=4, seed=1),
    ModelCase("digits_cnn_small_int8.tflite", vectors=2, seed=2),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_device_matches_host(check_model, case: ModelCase) -> None:
    result = check_model(case)  # fails with a diff unless every vector agrees
    assert result.loaded.arena_used < 512 * 1024

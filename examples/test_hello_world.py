"""The example suite: the main job runs it with `pytest examples --board=corstone300`.

Each case runs a real TFLite model on the device and on the host references;
the device must match the TFLM host interpreter bit for bit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hil import ModelCase

# The shared model collection beside the checkout; HIL_MODELS overrides it.
MODELS = Path(os.environ.get("HIL_MODELS", Path(__file__).resolve().parents[2] / "shared/models"))

CASES = [
    ModelCase(MODELS / "hello_world_int8.tflite", vectors=100, seed=1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_device_matches_host(check_model, case: ModelCase) -> None:
    check_model(case)

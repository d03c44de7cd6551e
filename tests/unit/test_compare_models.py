from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from hil.case.compare_models import shared_vectors
from hil.cli import _fraction
from hil.model.file import ModelFile


def test_shared_vectors_are_the_same_real_values(models_dir: Path) -> None:
    f = ModelFile(models_dir / "hello_world_float.tflite")
    q = ModelFile(models_dir / "hello_world_int8.tflite")
    va, vb = shared_vectors(f, q, 20, seed=1, float_range=(-1.0, 1.0))
    spec = q.inputs[0]
    for xa, xb in zip(va, vb, strict=True):
        assert xa[0].dtype == np.float32 and xb[0].dtype == np.int8
        # the int8 input is the float one quantized: within half a step of it
        back = (xb[0].astype(np.float64) - spec.zero_point) * spec.scale
        assert np.all(np.abs(back - xa[0]) <= spec.scale / 2 + 1e-6)
    # the range comes from the quantized input: [0, 255 * scale] for zero point -128
    values = np.concatenate([x[0].ravel() for x in va])
    assert values.min() >= 0.0 and values.max() <= 255 * spec.scale + 1e-6


def test_fraction_parsing() -> None:
    assert _fraction("2%") == pytest.approx(0.02)
    assert _fraction("0.05") == pytest.approx(0.05)
    with pytest.raises(argparse.ArgumentTypeError):
        _fraction("150%")

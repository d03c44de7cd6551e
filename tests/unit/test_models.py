from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hil.errors import ModelFileError
from hil.model.file import ModelFile


def test_hello_world_specs(models_dir: Path) -> None:
    m = ModelFile(models_dir / "hello_world_int8.tflite")
    (inp,) = m.inputs
    (out,) = m.outputs
    assert inp.dtype == np.int8 and inp.shape == (1, 1) and inp.zero_point == -128
    assert out.dtype == np.int8 and out.zero_point == 5
    assert len(m.sha256) == 64


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        ModelFile(tmp_path / "nope.tflite")


def test_not_a_tflite_file(tmp_path: Path) -> None:
    path = tmp_path / "x.tflite"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(
        ModelFileError, match="invalid model: not a TFLite model: expected b'TFL3' at byte 4"
    ):
        ModelFile(path)
    path.write_bytes(b"abc")
    with pytest.raises(ModelFileError, match="the file is 3 bytes, too short"):
        ModelFile(path)

"""The comparison can fail, and an unsupported model is refused cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.errors import DeviceError, Status
from hil.link.protocol import DebugOp


def test_one_corrupted_output_byte_fails_the_case(test_dut: Dut, models_dir: Path) -> None:
    case = ModelCase(models_dir / "hello_world_int8.tflite", vectors=5, seed=7)
    test_dut.session.debug(DebugOp.CORRUPT_OUTPUT, 0)
    try:
        bad = run_case(test_dut, case)
    finally:
        test_dut.session.debug(DebugOp.CORRUPT_OUTPUT, 0xFFFFFFFF)
    assert not bad.passed and bad.status == "mismatch"
    assert bad.matched("tflm") == 0
    report = bad.failure_report()
    assert "tflm: 0/5 vectors agree (exact), max |diff| 1" in report
    assert "vector 0 (random seed=7 #0): output 0 'StatefulPartitionedCall:0' vs tflm" in report
    assert "device (deq)" in report and "[0, 0]" in report
    # The same case passes once the device stops corrupting.
    assert run_case(test_dut, case).passed


def test_unsupported_operator_is_refused_and_device_answers_next(
    test_dut: Dut, models_dir: Path, tmp_path: Path
) -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from hil.model.file import ModelFile
    from tests.model_builder import fully_connected_then

    path = tmp_path / "fc_floor.tflite"
    path.write_bytes(fully_connected_then(schema.BuiltinOperator.FLOOR))
    with pytest.raises(DeviceError) as info:
        test_dut.load(ModelFile(path))
    assert info.value.status == Status.UNSUPPORTED
    assert info.value.message == "unsupported operator FLOOR (op index 1)"
    result = run_case(test_dut, ModelCase(models_dir / "hello_world_int8.tflite", vectors=3))
    assert result.passed


def test_release_firmware_has_no_debug_commands(models_dir: Path) -> None:
    from hil.boards import load_board, resolve

    with Dut(resolve(load_board("mps2-an386"))) as dut:
        assert dut.hello.capabilities == 0
        with pytest.raises(DeviceError, match="only in test builds"):
            dut.session.debug(DebugOp.CORRUPT_OUTPUT, 0)


def test_model_larger_than_the_device_holds(
    test_dut: Dut, models_dir: Path, tmp_path: Path
) -> None:
    from hil.errors import ModelFileError
    from hil.model.file import ModelFile
    from tests.hostile.make_corpus import fc_relu_builder

    capacity = test_dut.hello.model_capacity
    big = tmp_path / "big.tflite"
    builder = fc_relu_builder()  # a valid model, with an unused constant as large as the device
    builder.tensor((capacity,), np.uint8, data=np.zeros(1, np.uint8))
    builder.buffers[-1].data = np.zeros(capacity, np.uint8)  # packed as one vector
    big.write_bytes(builder.build())
    # Uploaded, it is refused before any byte moves (left to the board, a model
    # too large for RAM would be linked into flash instead: tests/e2e/test_linked_model.py).
    with pytest.raises(ModelFileError, match=f"holds models of at most {capacity:,} bytes"):
        test_dut.load(ModelFile(big), "upload")
    # The device refuses it too, should a host skip the check.
    with pytest.raises(DeviceError, match=r"exceeds the .* bytes this device holds") as info:
        test_dut.session.load_model(big.read_bytes()[:8] + bytes(capacity + 1 - 8))
    assert info.value.status == Status.MODEL_TOO_LARGE
    assert test_dut.session.loaded is None
    assert run_case(test_dut, ModelCase(models_dir / "hello_world_int8.tflite", vectors=2)).passed

"""Every shared model on both QEMU boards: 50 seeded random vectors plus the
sample inputs shipped beside the models, bit-exact with the TFLM host
interpreter; the samples also against the outputs shipped with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from tests.e2e.helpers import BOARDS

# model -> sample inputs shipped in shared/models/data/derived (output file beside each)
MODELS = {
    "hello_world_int8": [],
    "hello_world_float": [],
    "micro_speech_int8": [
        f"micro_speech_{w}_1000ms_features_int8" for w in ("yes", "no", "silence", "noise")
    ],
    "person_detect_int8": ["person_detect_person_input_int8", "person_detect_no_person_input_int8"],
    "mlperf_tiny_kws_ds_cnn_int8": [],
    "mlperf_tiny_ic_resnet8_int8": [],
    "mlperf_tiny_vww_mobilenet_int8": [],
    "mlperf_tiny_ad_autoencoder_int8": ["ad01_window0_input_int8"],
}


@pytest.fixture(scope="module", params=BOARDS)
def dut(request: pytest.FixtureRequest) -> Iterator[Dut]:
    with Dut(resolve(load_board(request.param)), timeout=30.0) as device:
        yield device


def expected_output(sample: Path) -> Path:
    name = sample.name.replace("_features_int8", "_output_int8")
    return sample.with_name(name.replace("_input_int8", "_output_int8"))


@pytest.mark.parametrize("name", list(MODELS))
def test_shared_model_bit_exact(dut: Dut, models_dir: Path, name: str) -> None:
    samples = [models_dir / "data" / "derived" / f"{s}.bin" for s in MODELS[name]]
    float_range = (0.0, 6.283) if name == "hello_world_float" else (-1.0, 1.0)
    case = ModelCase(
        models_dir / f"{name}.tflite",
        vectors=50,
        seed=11,
        float_range=float_range,
        references=("tflm",),
    )
    result = run_case(dut, case)
    assert result.passed, result.failure_report()
    assert result.matched("tflm") == 50
    assert result.loaded.arena_used is not None and result.tflm_arena is not None
    assert result.loaded.arena_used <= result.tflm_arena, (
        result.loaded.arena_used,
        result.tflm_arena,
    )
    for sample in samples:
        with_sample = ModelCase(case.model, vectors=0, inputs=(sample,), references=("tflm",))
        got = run_case(dut, with_sample)
        assert got.passed, got.failure_report()
        shipped = np.fromfile(expected_output(sample), dtype=np.int8)
        assert np.array_equal(got.vectors[0].outputs[0].ravel(), shipped), sample.name

"""Real TFLite Micro on the device, bit-exact with TFLM's host interpreter.

CI runs hello_world, MLPerf Tiny KWS and IC and a recurrent model on both
QEMU boards under both TFLM engines (reference kernels and CMSIS-NN). The
whole matrix (every shared model; KWS and IC also on mps2-an500 and
mps2-an505) is marked `tflm_matrix` and runs with `-m tflm_matrix`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.model.file import ModelFile
from tests.e2e.helpers import BOARDS

ENGINES = ("tflm", "tflm-cmsis-nn")
CI_MODELS = (
    "hello_world_int8",
    "mlperf_tiny_kws_ds_cnn_int8",
    "mlperf_tiny_ic_resnet8_int8",
    "keyword_scrambled_8bit",
)
ALL_MODELS = (
    "hello_world_int8",
    "hello_world_float",
    "micro_speech_int8",
    "person_detect_int8",
    "mlperf_tiny_kws_ds_cnn_int8",
    "mlperf_tiny_ic_resnet8_int8",
    "mlperf_tiny_vww_mobilenet_int8",
    "mlperf_tiny_ad_autoencoder_int8",
    "mnist_lstm_int8",
    "keyword_scrambled_8bit",
    "dtln_noise_suppression_int8",
    "digits_cnn_float",
    "digits_cnn_int8",
    "digits_cnn_pruned_int8",
    "digits_cnn_small_int8",
)
MORE_BOARDS = ("mps2-an500", "mps2-an505")
MORE_BOARD_MODELS = ("mlperf_tiny_kws_ds_cnn_int8", "mlperf_tiny_ic_resnet8_int8")
_devices: dict[tuple[str, str], Dut] = {}


@pytest.fixture(scope="module")
def tflm_device() -> Iterator[object]:
    """One running device per (board, engine), started on first use."""

    def get(board: str, engine: str) -> Dut:
        key = (board, engine)
        if key not in _devices:
            _devices[key] = Dut(resolve(load_board(board)), timeout=30.0, engine=engine).start()
        return _devices[key]

    yield get
    while _devices:
        _devices.popitem()[1].close()


def check_bit_exact(dut: Dut, model: Path, vectors: int) -> None:
    facts = ModelFile(model)
    length = 5 if facts.has_variables else 1
    float_range = (0.0, 6.283) if model.stem == "hello_world_float" else (-1.0, 1.0)
    case = ModelCase(
        model,
        vectors=vectors,
        seed=7,
        float_range=float_range,
        references=("tflm",),
        sequence_length=length,
    )
    result = run_case(dut, case)
    assert result.passed, result.failure_report()
    assert result.matched("tflm") == vectors
    assert dut.hello.engine == "tflm"
    kernels = "cmsis-nn" if dut.engine_choice == "tflm-cmsis-nn" else "reference"
    assert kernels in dut.hello.engine_version.split()
    counter = result.counter_summary()
    assert counter is not None and counter["kind"] == "instructions"
    print(
        f"\n{model.stem} on {dut.board.name} under {dut.engine_choice}: {vectors}/{vectors} "
        f"bit-exact; {counter['per_inference']['median']:,.0f} instructions/inference; "
        f"arena {result.loaded.arena_used} B"
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", CI_MODELS)
def test_tflm_bit_exact_with_host(
    tflm_device, models_dir: Path, board: str, engine: str, name: str  # type: ignore[no-untyped-def]
) -> None:
    check_bit_exact(tflm_device(board, engine), models_dir / f"{name}.tflite", vectors=10)


MATRIX = [(b, m) for b in BOARDS for m in ALL_MODELS] + [
    (b, m) for b in MORE_BOARDS for m in MORE_BOARD_MODELS
]


@pytest.mark.tflm_matrix
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("board", "name"), MATRIX)
def test_tflm_matrix(
    tflm_device, models_dir: Path, board: str, engine: str, name: str  # type: ignore[no-untyped-def]
) -> None:
    check_bit_exact(tflm_device(board, engine), models_dir / f"{name}.tflite", vectors=20)

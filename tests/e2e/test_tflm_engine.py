"""Real TFLite Micro on the device, bit-exact with TFLM's host interpreter.

CI runs hello_world, MLPerf Tiny KWS and IC and a recurrent model on both
QEMU boards under both TFLM engines (reference kernels and CMSIS-NN). The
whole matrix (every shared model; KWS and IC also on mps2-an500 and
mps2-an505) is marked `tflm_matrix` and runs with `-m tflm_matrix`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.errors import HilError
from hil.model.file import ModelFile
from tests.e2e.helpers import BOARDS, REPO, pytest_args, run_child

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
    """One running device per (board, engine), started on first use. Models and
    vectors go over the memory transport (what they compute does not depend on
    it; the serial path has its own tests), so the matrix's big models load in
    seconds."""

    def get(board: str, engine: str) -> Dut:
        key = (board, engine)
        if key not in _devices:
            _devices[key] = Dut(
                resolve(load_board(board)), timeout=30.0, engine=engine, transport="memory"
            ).start()
        return _devices[key]

    yield get
    while _devices:
        _devices.popitem()[1].close()


# TFLM's CMSIS-NN LSTM (kernels/cmsis_nn/unidirectional_sequence_lstm.cc at
# 90b983c) gives CMSIS-NN no hidden state and a scratch cell state, which
# CMSIS-NN zeroes on every call: unlike the reference kernel it carries no
# state from one invoke to the next (test below). Bit-exactness with the host
# holds from the initial state, so these models are checked with a reset
# before every vector under CMSIS-NN.
CMSIS_NN_STATELESS = {"UNIDIRECTIONAL_SEQUENCE_LSTM"}


def check_bit_exact(dut: Dut, model: Path, vectors: int) -> None:
    facts = ModelFile(model)
    length = 5 if facts.has_variables else 1
    if dut.engine_choice == "tflm-cmsis-nn" and CMSIS_NN_STATELESS & set(facts.op_names):
        length = 1
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


def test_cmsis_nn_profile_adds_up_to_the_whole(tflm_device, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    model = models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"
    dut = tflm_device("corstone300", "tflm-cmsis-nn")
    result = run_case(dut, ModelCase(model, vectors=1, seed=2, references=("tflm",)), profile=True)
    assert result.passed, result.failure_report()
    profile = result.profile
    assert profile is not None
    assert [o.op for o in profile.ops] == list(ModelFile(model).op_names)
    assert all(o.value > 0 for o in profile.ops)
    assert profile.whole == result.vectors[0].measurements[0].value
    assert abs(profile.op_sum - profile.whole) <= 0.01 * profile.whole, (
        profile.op_sum, profile.whole)


def test_compare_engines_runs_one_model_under_three_engines(
    models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "engines.json"
    proc = run_child(
        [sys.executable, "-m", "hil.cli", "compare-engines",
         str(models_dir / "hello_world_int8.tflite"), "--board", "corstone300",
         "--vectors", "4", "--json", str(out)],
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    rows = {r["engine"]: r for r in data["engines"]}
    assert list(rows) == ["hil", "tflm", "tflm-cmsis-nn"] and data["base"] == "hil"
    for engine, row in rows.items():
        assert row["agreement"] == {"tflm": 4}, engine
        # every engine is bit-exact with the host oracle, so with each other too
        assert row["identical_to_base"] == 4, engine
        assert row["counter_kind"] == "instructions" and row["per_inference_median"] > 0
        assert row["arena_bytes"] > 0 and row["text_bytes"] > 0
    assert rows["hil"]["firmware_engine"].startswith("hil")
    assert "cmsis-nn" in rows["tflm-cmsis-nn"]["firmware_engine"].split()
    assert "reference" in rows["tflm"]["firmware_engine"].split()
    # TFLM's image carries the framework and every builtin kernel: larger than hil's
    assert rows["tflm"]["text_bytes"] > rows["hil"]["text_bytes"]
    assert "identical" in proc.stdout  # the table (rich may wrap its labels)


def test_compare_engines_needs_two_engines(models_dir: Path) -> None:
    proc = run_child(
        [sys.executable, "-m", "hil.cli", "compare-engines",
         str(models_dir / "hello_world_int8.tflite"), "--board", "corstone300",
         "--engines", "tflm"],
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert "two or more different engines" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def accumulator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.streaming_model import accumulator_model

    path = tmp_path_factory.mktemp("streaming") / "accumulator.tflite"
    path.write_bytes(accumulator_model())
    return path


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("board", BOARDS)
def test_resource_variables_in_a_second_subgraph_run_and_reset(
    tflm_device, accumulator: Path, board: str, engine: str  # type: ignore[no-untyped-def]
) -> None:
    """CALL_ONCE, VAR_HANDLE, READ_VARIABLE and ASSIGN_VARIABLE on the device,
    bit-exact with the host, and the sequence resets reach the variable."""
    from hil.case.runner import case_vectors

    model = ModelFile(accumulator)
    assert model.has_resource_variables and model.has_variables
    case = ModelCase(accumulator, vectors=10, seed=5, references=("tflm",), sequence_length=5)
    result = run_case(tflm_device(board, engine), case)
    assert result.passed, result.failure_report()
    assert result.matched("tflm") == 10
    inputs = [vec for _, vec in case_vectors(case, model)]
    for n in (0, 5):  # a sequence's first output is its own input: the sum restarted
        np.testing.assert_array_equal(result.vectors[n].outputs[0], inputs[n][0])
    np.testing.assert_array_equal(result.vectors[6].outputs[0], inputs[5][0] + inputs[6][0])


def test_resource_variables_refuse_warmup_with_the_reason(
    tflm_device, accumulator: Path  # type: ignore[no-untyped-def]
) -> None:
    case = ModelCase(accumulator, vectors=2, references=("tflm",))
    with pytest.raises(HilError, match=r"resource variables.*warm-up 0, repeats 1"):
        run_case(tflm_device("corstone300", "tflm"), case, warmup=1)


CASE_ENGINES = """
import pytest
from hil import ModelCase

@pytest.mark.parametrize("engine", [None, "tflm", "tflm-cmsis-nn"])
def test_engine(check_model, engine):
    check_model(ModelCase({model!r}, vectors=3, references=("tflm",), engine=engine))
"""


def test_a_case_chooses_its_engine(models_dir: Path, tmp_path: Path, process_tag: str) -> None:
    suite = tmp_path / "test_engines.py"
    suite.write_text(CASE_ENGINES.format(model=str(models_dir / "hello_world_int8.tflite")))
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args(str(suite), "--board=corstone300", "--hil-engine=hil",
                    f"--hil-report={report}", f"--rootdir={tmp_path}", "-q"),
        cwd=tmp_path, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    engines = {c["test"].split("[")[-1].rstrip("]"): c["engine"] for c in
               json.loads(report.read_text())["cases"]}  # fmt: skip
    engines = {k.removeprefix("corstone300-"): v for k, v in engines.items()}
    assert set(engines) == {"None", "tflm", "tflm-cmsis-nn"}, engines
    assert engines["None"].startswith("hil ")  # the session's engine
    assert engines["tflm"].startswith("tflm ") and " reference " in engines["tflm"]
    assert " cmsis-nn " in engines["tflm-cmsis-nn"]


def test_an_unknown_case_engine_is_refused(models_dir: Path) -> None:
    from hil.errors import CaseDefinitionError

    with pytest.raises(CaseDefinitionError, match="engine must be one of hil, tflm"):
        ModelCase(models_dir / "hello_world_int8.tflite", engine="tvm")


@pytest.mark.parametrize("name", ["mnist_lstm_int8", "dtln_noise_suppression_int8"])
def test_cmsis_nn_lstm_carries_no_state_between_invokes(
    tflm_device, models_dir: Path, name: str  # type: ignore[no-untyped-def]
) -> None:
    """What hil reports for a streaming LSTM under TFLM + CMSIS-NN: each
    invoke starts from the initial state, so a sequence departs from the
    reference kernels (the oracle) after its first step."""
    model = models_dir / f"{name}.tflite"
    dut = tflm_device("corstone300", "tflm-cmsis-nn")
    sequence = run_case(dut, ModelCase(model, vectors=4, seed=7, references=("tflm",),
                                       sequence_length=4))  # fmt: skip
    fresh = run_case(dut, ModelCase(model, vectors=4, seed=7, references=("tflm",),
                                    sequence_length=1))  # fmt: skip
    assert fresh.passed, fresh.failure_report()
    assert sequence.vectors[0].ok("tflm")
    assert not all(v.ok("tflm") for v in sequence.vectors[1:])
    for carried, restarted in zip(sequence.vectors, fresh.vectors, strict=True):
        for a, b in zip(carried.outputs, restarted.outputs, strict=True):
            np.testing.assert_array_equal(a, b)


def test_warmup_and_repeats_leave_a_streaming_lstm_where_it_was(
    tflm_device, models_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    """The agent sets the variable tensors aside around warm-up and repeated
    inferences, so a sequence under the reference kernels stays bit-exact with
    the host however many runs measured each step (seed 0's first vector is one
    whose output moves when the state does)."""
    model = models_dir / "mnist_lstm_int8.tflite"
    case = ModelCase(model, vectors=4, seed=0, references=("tflm",), sequence_length=4)
    result = run_case(tflm_device("corstone300", "tflm"), case, warmup=1, repeats=2)
    assert result.passed, result.failure_report()
    assert result.matched("tflm") == 4

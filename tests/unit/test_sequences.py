"""Vector sequences for stateful models, on the host: hil's runner driving
hil's own engine (through a stand-in for the device) against TFLM, the
report naming the step where a skipped reset shows, the device's tensor
types checked against the model, and LiteRT kept away from the models it
would crash on or refuses only when invoked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hil.case.model_case import ModelCase
from hil.case.runner import CaseResult, _check_device_specs, run_case
from hil.device.protocol import ONCE, Inference, Timing, Vector
from hil.devtools.engine_host import HostEngine
from hil.errors import HilError
from hil.link.session import LoadedModel
from hil.measurements.phases import PhaseClock
from hil.model.file import ModelFile
from hil.model.tensor import TensorSpec
from hil.references import LiteRtReference, ReferenceUnavailable, make_references
from tests.unit.test_kernels_recurrent import LstmSpec, build_lstm, build_svdf


class EngineDut:
    """Just enough of a hil.device.protocol.Device for run_case, with hil's C engine built
    for the host in place of a device: the same kernels, no emulator."""

    description = "host engine"
    resolution = SimpleNamespace(backend="host")
    board = SimpleNamespace(name="host")
    build_id = "host"
    variant = "test"
    cflags: tuple[str, ...] = ()
    engine = "hil host"
    engine_identity = ("hil", "host")
    image = None
    transport_used = "in-process"  # no link: the engine is called directly

    def __init__(self) -> None:
        self.engine_ = HostEngine(arena_bytes=1 << 20)
        self.resets = 0
        self.phases = PhaseClock()

    def link_stats(self) -> dict[str, int | float]:
        return {}  # no link: the engine runs in this process

    def load(self, model: ModelFile, placement: str = "") -> LoadedModel:
        self.engine_.load(model.data)

        def specs(items: Sequence[object]) -> tuple[TensorSpec, ...]:
            return tuple(
                TensorSpec(s.dtype, tuple(s.shape), s.scale, s.zero_point, nbytes=s.nbytes)
                for s in items
            )

        return LoadedModel(
            model.sha256,
            0,
            len(model.data),
            self.engine_.arena_used,
            specs(self.engine_.inputs),
            specs(self.engine_.outputs),
        )

    def load_cost(self, loaded: LoadedModel) -> None:
        return None

    def reset_state(self, model: ModelFile) -> None:
        self.resets += 1
        self.engine_.reset_variables()

    def infer(
        self, model: ModelFile, loaded: LoadedModel, vector: Vector, timing: Timing = ONCE
    ) -> Inference:
        for i, data in enumerate(vector):
            self.engine_.set_input(i, data)
        self.engine_.invoke()
        outputs = [self.engine_.get_output(i) for i in range(len(model.outputs))]
        return Inference(outputs, [], None)


@pytest.fixture
def dut() -> Iterator[EngineDut]:
    device = EngineDut()
    yield device
    device.engine_.close()


@pytest.fixture
def svdf_model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(31)
    path = tmp_path / "svdf.tflite"
    path.write_bytes(
        build_svdf(rng, "int8_s16", batches=1, input_size=6, rank=2, units=3, memory=4).model
    )
    return path


def run(dut: EngineDut, case: ModelCase) -> CaseResult:
    return run_case(dut, case, references=make_references(ModelFile(case.model).data, 1)[0])  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [1, 4, 12])
def test_sequences_reset_every_l_vectors_and_number_their_steps(
    dut: EngineDut, svdf_model: Path, length: int
) -> None:
    case = ModelCase(svdf_model, vectors=12, seed=2, sequence_length=length)
    result = run(dut, case)
    assert result.passed, result.failure_report()
    assert dut.resets == -(-12 // length)
    rows = result.to_dict()["vectors"]
    assert [(r["index"], r["sequence"], r["step"]) for r in rows] == [
        (n, n // length, n % length) for n in range(12)
    ]
    assert result.to_dict()["sequence_length"] == length


def test_a_skipped_device_reset_fails_at_the_step_it_shows(
    dut: EngineDut, svdf_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reset before the second sequence (vector 4) is skipped on the
    device only: the report names vector 4, sequence 1, step 0."""
    original = dut.reset_state
    calls = []

    def skip_second(model: ModelFile) -> None:
        calls.append(model)
        if len(calls) != 2:
            original(model)

    monkeypatch.setattr(dut, "reset_state", skip_second)
    result = run(dut, ModelCase(svdf_model, vectors=8, seed=2, sequence_length=4))
    assert not result.passed
    assert [v.ok("tflm") for v in result.vectors][:5] == [True] * 4 + [False]
    report = result.failure_report()
    assert (
        "first disagreement: vector 4 (sequence 1, step 0; random seed=2 #4) "
        "(state reset every 4 vectors)"
    ) in report, report
    assert "vector 4 (sequence 1, step 0; random seed=2 #4): output 0" in report


def test_device_tensor_types_are_checked_against_the_model(models_dir: Path) -> None:
    """keyword_scrambled: int16 in, int32 out. A device reporting other
    types (or shapes) is refused before anything runs."""
    model = ModelFile(models_dir / "keyword_scrambled_8bit.tflite")
    good_in = TensorSpec(np.dtype(np.int16), (1, 96), 0.000625, 0, nbytes=192)
    good_out = TensorSpec(np.dtype(np.int32), (1, 2), 3.05e-5, 0, nbytes=8)
    _check_device_specs(model, LoadedModel("", 0, 0, None, (good_in,), (good_out,)))
    as_int8 = TensorSpec(np.dtype(np.int8), (1, 96), 0.000625, 0, nbytes=96)
    with pytest.raises(
        HilError, match=r"input 0: device says int8 \[1, 96\], the model says int16"
    ):
        _check_device_specs(model, LoadedModel("", 0, 0, None, (as_int8,), (good_out,)))
    as_int16 = TensorSpec(np.dtype(np.int16), (1, 2), 3.05e-5, 0, nbytes=4)
    with pytest.raises(
        HilError, match=r"output 0: device says int16 \[1, 2\], the model says int32"
    ):
        _check_device_specs(model, LoadedModel("", 0, 0, None, (good_in,), (as_int16,)))


def test_int16_in_int32_out_model_runs_as_a_sequence(dut: EngineDut, models_dir: Path) -> None:
    case = ModelCase(models_dir / "keyword_scrambled_8bit.tflite", vectors=10, sequence_length=5)
    result = run(dut, case)
    assert result.passed, result.failure_report()
    assert result.vectors[0].outputs[0].dtype == np.int32
    assert [r["sequence"] for r in result.to_dict()["vectors"]] == [0] * 5 + [1] * 5


# -- LiteRT as a reference for recurrent models -------------------------------------


def test_litert_is_not_given_int8_state_svdf(models_dir: Path) -> None:
    """LiteRT's integer SVDF treats weights_time and state as int16; given
    TFLM's int8-state variant it overruns its buffers and corrupts the
    process's heap. hil reports it unavailable instead, with the reason."""
    data = (models_dir / "keyword_scrambled_8bit.tflite").read_bytes()
    with pytest.raises(ReferenceUnavailable, match=r"SVDF \(op index 1\) has int8 weights_time"):
        LiteRtReference(data)
    rng = np.random.default_rng(32)
    generated = build_svdf(rng, "int8_s8", batches=1, input_size=4, rank=1, units=2, memory=3)
    refs, unavailable = make_references(generated.model, 1)
    assert [r.name for r in refs] == ["tflm"]
    assert "LiteRT's integer SVDF handles only int16" in unavailable["litert"]


def test_litert_refusals_at_invoke_read_as_unavailable() -> None:
    """LiteRT's integer SVDF accepts a non-RELU activation at prepare and
    fails at the first invoke; its integer LSTM wants five intermediate
    tensors (TFLM does not). Both: unavailable, with LiteRT's words."""
    rng = np.random.default_rng(33)
    svdf = build_svdf(rng, "int8_s16", batches=1, input_size=4, rank=1, units=2, memory=3, act=0)
    _, unavailable = make_references(svdf.model, 1)
    assert unavailable["litert"].startswith("LiteRT refused the model when invoked:")
    assert "kTfLiteActRelu" in unavailable["litert"]
    lstm = build_lstm(rng, LstmSpec())
    _, unavailable = make_references(lstm.model, 1)
    assert "num_intermediate_tensors == 5" in unavailable["litert"]


def test_litert_trial_invoke_leaves_no_state() -> None:
    """The trial run that catches invoke-time refusals is undone: the first
    real step equals a fresh LiteRT interpreter's."""
    from ai_edge_litert import interpreter

    rng = np.random.default_rng(34)
    case = build_svdf(rng, "float32", batches=1, input_size=5, rank=2, units=3, memory=4)
    xs = case.inputs(rng, 3)
    ref = LiteRtReference(case.model)
    raw = interpreter.Interpreter(
        model_content=case.model,
        experimental_op_resolver_type=interpreter.OpResolverType.BUILTIN_REF,
    )
    raw.allocate_tensors()
    for x in xs:
        raw.set_tensor(raw.get_input_details()[0]["index"], x)
        raw.invoke()
        expected = raw.get_tensor(raw.get_output_details()[0]["index"])
        assert np.array_equal(ref.run([x])[0], expected)

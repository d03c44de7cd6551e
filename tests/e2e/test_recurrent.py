"""Recurrent (stateful) models on both QEMU boards, over 20-step sequences:
device and references reset to the initial state once, before step 0, and
compared at every step.

- Small single-op SVDF and LSTM models from the property tests' generator
  (tests/unit/test_kernels_recurrent.py), written to .tflite files: every
  variant TFLM has (int8 SVDF with int16 or int8 state, float32 SVDF; int8
  LSTM with int16 cell state, float32 LSTM), bit-exact with TFLM at every
  step, float32 included; LiteRT where it takes the model, else reported
  unavailable with its reason.
- The three real recurrent models in shared/models (DTLN, MNIST LSTM,
  keyword_scrambled SVDF with int16 input and int32 output), bit-exact at
  every step; keyword_scrambled's final output saturates whatever the input,
  so it also runs with its SVDF layers' outputs made graph outputs.
- Each sequence is checked to depend on the state (some step differs from a
  stateless run of the same vector), and a skipped reset (device or
  references) is caught at the step it corrupts, named in the report."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hil.boards import load_board, resolve
from hil.case.compare import EXACT
from hil.case.model_case import ModelCase
from hil.case.runner import CaseResult, case_vectors, run_case
from hil.device.dut import Dut
from hil.errors import DeviceError
from hil.model.file import ModelFile
from hil.references import make_references
from tests.e2e.helpers import BOARDS, REPO, run_child
from tests.unit.kernel_oracle import schema
from tests.unit.test_kernels_recurrent import (
    LstmSpec,
    build_lstm,
    build_svdf,
    with_outputs,
)

STEPS = 20
RELU = 1  # LiteRT's integer SVDF runs only with a RELU activation


@dataclass(frozen=True)
class Generated:
    build: Callable[[np.random.Generator], bytes]
    #: None: LiteRT runs the model; else a phrase its unavailability reason holds.
    litert_refuses: str | None
    #: A float32 model whose kernel calls expf/tanhf: judged against TFLM with
    #: hil's float tolerance, as the device's libm (newlib) may differ from
    #: the host's (glibc) in the last place (docs/recurrent.md).
    libm: bool = False


GENERATED = {
    "svdf_int8_state16": Generated(
        lambda rng: (
            build_svdf(
                rng, "int8_s16", batches=1, input_size=12, rank=2, units=6, memory=8, act=RELU
            ).model
        ),
        None,
    ),
    "svdf_int8_state8": Generated(
        lambda rng: (
            build_svdf(rng, "int8_s8", batches=2, input_size=10, rank=1, units=5, memory=6).model
        ),
        "int8 weights_time/state; LiteRT's integer SVDF handles only int16",
    ),
    "svdf_float32": Generated(
        lambda rng: (
            build_svdf(
                rng, "float32", batches=1, input_size=8, rank=2, units=4, memory=5, act=RELU
            ).model
        ),
        None,
    ),
    "lstm_int8": Generated(
        lambda rng: (
            build_lstm(
                rng, LstmSpec(batches=1, steps=3, input_size=8, state_size=6, clip=3.0)
            ).model
        ),
        "num_intermediate_tensors == 5",
    ),
    "lstm_int8_time_major": Generated(
        lambda rng: (
            build_lstm(
                rng, LstmSpec(batches=2, steps=2, input_size=5, state_size=7, time_major=True)
            ).model
        ),
        "num_intermediate_tensors == 5",
    ),
    "lstm_float32": Generated(
        lambda rng: (
            build_lstm(
                rng, LstmSpec(kind="float32", batches=1, steps=3, input_size=6, state_size=5)
            ).model
        ),
        None,
        libm=True,
    ),
}


@pytest.fixture(scope="module", params=BOARDS)
def dut(request: pytest.FixtureRequest) -> Iterator[Dut]:
    with Dut(resolve(load_board(request.param)), timeout=30.0) as device:
        yield device


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated models as .tflite files (fixed seeds: the same bytes on
    every run)."""
    folder = tmp_path_factory.mktemp("recurrent")
    paths = {}
    for i, (name, gen) in enumerate(GENERATED.items()):
        path = folder / f"{name}.tflite"
        path.write_bytes(gen.build(np.random.default_rng(4200 + i)))
        paths[name] = path
    return paths


def sequence_case(model: Path, exact: bool = True, **kw: object) -> ModelCase:
    """STEPS seeded vectors as one sequence, bit-exact against TFLM at every
    step (float32 too unless not `exact`); LiteRT within its default
    tolerance."""
    return ModelCase(
        model,
        vectors=STEPS,
        seed=7,
        sequence_length=STEPS,
        tolerances={"tflm": EXACT} if exact else {},
        **kw,  # type: ignore[arg-type]
    )


def assert_every_step_exact(result: CaseResult, exact: bool = True) -> None:
    """Every step agrees with TFLM: bit for bit, or (not `exact`) within
    hil's float tolerance."""
    assert result.passed, result.failure_report()
    assert (result.agreement["tflm"] == "exact") == exact
    assert [v.index for v in result.vectors] == list(range(STEPS))
    assert [(v.sequence, v.step) for v in result.vectors] == [(0, n) for n in range(STEPS)]
    assert all(v.ok("tflm") for v in result.vectors)


def assert_state_matters(result: CaseResult) -> None:
    """The outputs change along the sequence, and some step differs from the
    same vector run from the initial state (TFLM, reset before it): the state
    carried across invocations is really in play."""
    model = ModelFile(result.case.model)
    (tflm,), _ = make_references(model.data, len(model.outputs), ("tflm",))
    outputs = [b"".join(o.tobytes() for o in v.outputs) for v in result.vectors]
    assert len(set(outputs)) > 1, "the output never changes along the sequence"
    differs = 0
    for (_, vector), device in zip(case_vectors(result.case, model), outputs, strict=True):
        tflm.reset()
        fresh = b"".join(o.tobytes() for o in tflm.run(vector))
        differs += fresh != device
    assert differs > 0, "no step depends on the state"


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_recurrent_model_sequence(
    dut: Dut, generated: dict[str, Path], name: str
) -> None:
    gen = GENERATED[name]
    result = run_case(dut, sequence_case(generated[name], exact=not gen.libm))
    assert_every_step_exact(result, exact=not gen.libm)
    if gen.libm:
        print(f"\n{name} on {result.board}: max |diff| vs TFLM {result.max_abs_diff('tflm'):g}")
    refuses = gen.litert_refuses
    if refuses is None:
        assert result.matched("litert") == STEPS, result.failure_report()
    else:
        assert "litert" not in result.references
        assert refuses in result.unavailable["litert"], result.unavailable
    assert_state_matters(result)


# model -> phrase in LiteRT's unavailability reason (None: LiteRT runs it)
SHARED = {
    "dtln_noise_suppression_int8": None,
    "mnist_lstm_int8": None,
    "keyword_scrambled_8bit": "int8 weights_time/state; LiteRT's integer SVDF handles only int16",
}


@pytest.mark.parametrize("name", list(SHARED))
def test_shared_recurrent_model_sequence(dut: Dut, models_dir: Path, name: str) -> None:
    path = models_dir / f"{name}.tflite"
    assert ModelFile(path).has_variables
    result = run_case(dut, sequence_case(path))
    assert_every_step_exact(result)
    refuses = SHARED[name]
    if refuses is None:
        assert result.matched("litert") == STEPS, result.failure_report()
    else:
        assert refuses in result.unavailable["litert"], result.unavailable
    counter = result.counter_summary()
    assert counter is not None and counter["kind"] == "instructions"
    per = counter["per_inference"]
    print(
        f"\n{name} on {result.board}: {STEPS} steps exact; instructions per step: "
        f"median {per['median']:,.0f} (min {per['min']:,}, max {per['max']:,}); LiteRT's own "
        f"departures from TFLM: {result.excused('litert') if refuses is None else 'n/a'}"
    )
    if name != "keyword_scrambled_8bit":  # its final output saturates (below)
        assert_state_matters(result)


SVDF_OUTPUTS = [5, 13, 21, 29, 37, 42, 47]  # keyword_scrambled's SVDF output tensors


def variable_tensors(model: bytes) -> list[int]:
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    return [i for i, t in enumerate(m.subgraphs[0].tensors) if t.isVariable]


def test_keyword_scrambled_layers_every_step(dut: Dut, models_dir: Path, tmp_path: Path) -> None:
    """keyword_scrambled with its seven SVDF layers' outputs and state tensors
    made graph outputs (15 with the model's own; the device takes at most 16):
    all bit-exact at every step. (The scrambled weights saturate the SVDF
    outputs, so only the state tensors show the state at work.)"""
    data = (models_dir / "keyword_scrambled_8bit.tflite").read_bytes()
    states = variable_tensors(data)
    assert len(states) == 7
    probe = tmp_path / "keyword_scrambled_layers.tflite"
    probe.write_bytes(with_outputs(data, [*SVDF_OUTPUTS, *states]))
    result = run_case(dut, sequence_case(probe, references=("tflm",)))
    assert_every_step_exact(result)
    assert len(result.vectors[0].outputs) == 15
    assert_state_matters(result)


def test_int16_input_int32_output_types_on_both_ends(dut: Dut, models_dir: Path) -> None:
    """keyword_scrambled: the device reports an int16 input and an int32
    output (hil checks them against the model before running); an input of
    the wrong size (int8 bytes for the int16 input) is refused by the device
    at INVOKE, naming the input and the byte counts."""
    model = ModelFile(models_dir / "keyword_scrambled_8bit.tflite")
    loaded = dut.load(model)
    assert [(s.dtype, tuple(s.shape)) for s in loaded.inputs] == [(np.dtype(np.int16), (1, 96))]
    assert [(s.dtype, tuple(s.shape)) for s in loaded.outputs] == [(np.dtype(np.int32), (1, 2))]
    dut.session.set_input(0, np.zeros((1, 96), np.int8).tobytes())
    with pytest.raises(DeviceError, match="input 0 incomplete: 96 of 192 bytes"):
        dut.session.invoke(timeout=30.0)
    result = run_case(dut, ModelCase(model.path, vectors=3, references=("tflm",)))
    assert result.passed, result.failure_report()
    assert result.vectors[0].outputs[0].dtype == np.int32


class SkipOneReset:
    """Wraps a reset (the device's or a reference's) and skips its n-th call."""

    def __init__(self, reset: Callable[..., object], skip: int) -> None:
        self.reset, self.skip, self.calls = reset, skip, 0

    def __call__(self, *args: object) -> None:
        self.calls += 1
        if self.calls != self.skip:
            self.reset(*args)


@pytest.mark.parametrize("skipped", ["device", "references"])
def test_skipped_reset_is_caught_at_its_step(
    dut: Dut, generated: dict[str, Path], monkeypatch: pytest.MonkeyPatch, skipped: str
) -> None:
    """Sequences of 5: the reset before the second sequence (vector 5) is
    skipped on the device or on the references only, so the two run from
    different states. The case fails, and the report names vector 5,
    sequence 1, step 0 as the first disagreement."""
    case = ModelCase(generated["svdf_int8_state16"], vectors=10, seed=3, sequence_length=5)
    model = ModelFile(case.model)
    refs, _ = make_references(model.data, len(model.outputs), ("tflm",))
    if skipped == "device":
        monkeypatch.setattr(dut, "reset_state", SkipOneReset(dut.reset_state, 2))
    else:
        for ref in refs:
            monkeypatch.setattr(ref, "reset", SkipOneReset(ref.reset, 2))
    result = run_case(dut, case, references=refs)
    assert not result.passed
    bad = [v.index for v in result.vectors if not v.ok("tflm")]
    assert bad and bad[0] == 5, bad
    assert all(v.ok("tflm") for v in result.vectors[:5])
    report = result.failure_report()
    assert "first disagreement: vector 5 (sequence 1, step 0;" in report, report
    assert "state reset every 5 vectors" in report
    assert "vector 5 (sequence 1, step 0; random seed=3 #5): output 0" in report
    # With every reset made, the same case passes.
    monkeypatch.undo()
    fresh, _ = make_references(model.data, len(model.outputs), ("tflm",))
    assert run_case(dut, case, references=fresh).passed


# -- `hil run` on stateful models ----------------------------------------------------

HIL = [sys.executable, "-m", "hil.cli"]


@pytest.mark.parametrize("length", [10, 1])
def test_hil_run_stateful_model_every_step_exact(
    models_dir: Path, tmp_path: Path, length: int
) -> None:
    """The acceptance run: 40 vectors in sequences of `length` on
    corstone300; every step exact against TFLM, LiteRT within tolerance."""
    out = tmp_path / "out.json"
    model = models_dir / "mnist_lstm_int8.tflite"
    args = ["--board", "corstone300", "--vectors", "40", "--sequence-length", str(length)]
    proc = run_child([*HIL, "run", str(model), *args, "--json", str(out)], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["status"] == "pass" and result["sequence_length"] == length
    assert result["references"]["tflm"]["agreement"] == "exact"
    for ref in ("tflm", "litert"):
        assert result["aggregate"]["agreement"][ref]["matched"] == 40
        assert result["aggregate"]["agreement"][ref]["total"] == 40
    vectors = result["vectors"]
    assert [(v["index"], v["sequence"], v["step"]) for v in vectors] == [
        (n, n // length, n % length) for n in range(40)
    ]
    assert all(v["agreement"]["tflm"]["ok"] for v in vectors)
    assert all(v["agreement"]["tflm"]["max_abs_diff"] == 0 for v in vectors)


def test_hil_run_takes_a_npy_sequence(models_dir: Path, tmp_path: Path) -> None:
    """keyword_scrambled (int16 [1, 96] in, int32 out) fed a .npy of 20
    frames [20, 96] in two sequences of 10; an int8 .npy is refused (exit 2)
    with both dtypes named."""
    model = models_dir / "keyword_scrambled_8bit.tflite"
    rng = np.random.default_rng(12)
    seq = tmp_path / "frames.npy"
    np.save(seq, rng.integers(-3000, 3000, (20, 96)).astype(np.int16))
    out = tmp_path / "out.json"
    args = ["--board", "corstone300", "--inputs", str(seq), "--sequence-length", "10"]
    proc = run_child([*HIL, "run", str(model), *args, "--json", str(out)], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["aggregate"]["agreement"]["tflm"]["matched"] == 20
    assert [v["source"] for v in result["vectors"]] == [f"npy #{n}" for n in range(20)]
    assert [v["sequence"] for v in result["vectors"]] == [0] * 10 + [1] * 10
    assert "not given to LiteRT" in result["unavailable_references"]["litert"]
    assert "litert" in proc.stdout and "unavailable" in proc.stdout
    np.save(seq, np.zeros((20, 96), np.int8))
    proc = run_child([*HIL, "run", str(model), *args], cwd=REPO, COLUMNS="300")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "input 0 (unnamed) is int8, the model wants int16" in proc.stdout, proc.stdout

"""Host references run in worker processes: a crash there is an error for
the case, never the end of hil's own process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from hil.model.file import ModelFile
from hil.references import IsolatedReference, ReferenceCrashed, TflmReference, make_references


@pytest.fixture
def model(models_dir: Path) -> ModelFile:
    return ModelFile(models_dir / "hello_world_int8.tflite")


def _zeros(model: ModelFile) -> list[np.ndarray]:
    return [np.zeros(spec.shape, spec.dtype) for spec in model.inputs]


def test_isolated_tflm_matches_in_process(model: ModelFile) -> None:
    refs, unavailable = make_references(model.data, len(model.outputs), ("tflm",))
    assert unavailable == {}
    (isolated,) = refs
    direct = TflmReference(model.data, len(model.outputs))
    for value in (-128, 0, 77):
        vector = [np.full(spec.shape, value, spec.dtype) for spec in model.inputs]
        assert [o.tolist() for o in isolated.run(vector)] == [
            o.tolist() for o in direct.run(vector)
        ]
    assert isolated.arena_used_bytes() == direct.arena_used_bytes()
    isolated.close()


def test_worker_killed_by_a_signal_is_a_named_error(model: ModelFile) -> None:
    ref = IsolatedReference("tflm", model.data, n_outputs=len(model.outputs)).ready()
    assert isinstance(ref, IsolatedReference)
    os.kill(ref._proc.pid, signal.SIGSEGV)
    ref._proc.wait()
    with pytest.raises(ReferenceCrashed, match=r"reference tflm .*signal 11 \(SIGSEGV\)"):
        ref.run(_zeros(model))


def test_refused_model_is_unavailable_and_the_next_one_loads(model: ModelFile) -> None:
    # Not a TFLite model: both refuse it, and a good model loads after.
    refs, unavailable = make_references(b"\0" * 64, 1, ("tflm", "litert"))
    assert refs == []
    assert set(unavailable) == {"tflm", "litert"}
    good, none = make_references(model.data, len(model.outputs), ("tflm",))
    assert none == {} and len(good) == 1

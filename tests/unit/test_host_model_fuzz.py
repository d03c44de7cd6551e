"""The host-side model reader fuzzed with Hypothesis: mutations (byte and bit
overwrites, truncations, insertions, deletions, 32-bit values planted at
offsets) of the shared models and of a builder model. A crash is any exception
other than hil's own errors: InvalidModelError from the checks, or, for a model
they accept, a HilError saying what hil does not support. The bounded run here
is HIL_HOST_FUZZ_EXAMPLES examples (default 200); docs/fuzzing.md records a
longer one."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hil.errors import HilError, InvalidModelError
from hil.model.facts import model_facts
from hil.model.file import ModelFile
from tests.conftest import MODELS
from tests.hostile.make_corpus import good_model

EXAMPLES = int(os.environ.get("HIL_HOST_FUZZ_EXAMPLES", "200"))
# The small shared models keep each example fast; the builder model is always there.
SEEDS = [good_model()] + [
    p.read_bytes() for p in sorted(MODELS.glob("*.tflite")) if p.stat().st_size <= 64 * 1024
]
COUNTS = {"examples": 0, "refused": 0, "accepted": 0}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(("bit", "byte", "word", "truncate", "insert", "delete")))
        if kind == "bit":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "word":  # an offset, index, length or dimension
            value = draw(st.sampled_from((0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65536))
                         | st.integers(0, 2**32 - 1))  # fmt: skip
            data[pos : pos + 4] = value.to_bytes(4, "little")
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[pos : pos + draw(st.integers(1, 16))]
    return bytes(data)


def read_like_hil(data: bytes) -> None:
    """Everything the host reads from a model before and besides the references."""
    COUNTS["examples"] += 1
    try:
        model = ModelFile(Path("fuzzed.tflite"), data=data)
    except InvalidModelError:
        COUNTS["refused"] += 1
        return
    COUNTS["accepted"] += 1
    try:
        _ = (model.inputs, model.outputs, model.op_names, model.has_variables, model.sha256)
        model_facts(model)
    except HilError:
        pass  # an unsupported type or op shape, named: not a crash


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_host_reader_never_crashes(data: bytes) -> None:
    read_like_hil(data)


def test_seeds_are_accepted() -> None:
    assert len(SEEDS) >= 5
    for seed in SEEDS:
        ModelFile(Path("seed.tflite"), data=seed).inputs  # noqa: B018


def teardown_module() -> None:
    if COUNTS["examples"]:
        print(f"\nhost model fuzz: {COUNTS}")

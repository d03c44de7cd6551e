"""The typed case record: one JSON edge (to_json/from_json) that round-trips,
older records read back, bad ones refused in one line, and nothing mutated on
the way to the store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hil.case.model_case import ModelCase
from hil.case.record import (
    Agreement,
    CaseRecord,
    CounterRecord,
    EngineRecord,
    FirmwareRecord,
    ModelRecord,
    RecordError,
    ReferenceRecord,
    VectorAgreement,
    VectorRecord,
)
from hil.energy.figure import EnergyFigure
from hil.firmware.footprint import Footprint
from hil.measurements.counters import Measurement
from hil.measurements.profile import OpProfile, Profile
from hil.results.record import RunContext
from hil.results.recorder import result_row


def full_record() -> CaseRecord:
    return CaseRecord(
        case="kws",
        status="pass",
        board="corstone300",
        test="tests/test_kws.py::test_kws[corstone300]",
        instance="a300",
        backend="qemu",
        target="a300 [corstone300] -> qemu",
        hil_version="0.1.0",
        firmware=FirmwareRecord("b1", "release", ("-O3",)),
        engine=EngineRecord("tflm", "1373af069e cmsis-nn release"),
        model=ModelRecord(
            "/m/kws.tflite", "ab" * 32, 1234, ("int8 [1, 49]",), ("int8 [1, 4]",), "upload"
        ),
        sequence_length=1,
        arena_used_bytes=512,
        stack_used_bytes=300,
        tflm_arena_used_bytes=600,
        load_and_prepare=Measurement("instructions", 9000, "QEMU -icount"),
        footprint=Footprint(900, 100, 8, 64, 4096, 65536, 8192),
        references={
            "tflm": ReferenceRecord("1.2", "exact"),
            "litert": ReferenceRecord("2.0", "±1 LSB"),
        },
        unavailable_references={"tvm": "not installed"},
        vector_count=3,
        agreement={
            "tflm": Agreement(3, 3, 0.0, 0, bit_exact=3),
            "litert": Agreement(3, 3, 1.0, 2, bit_exact=1),
        },
        counter=CounterRecord(
            "instructions", "QEMU -icount", 10, 11.0, 12, 13, warmup=1, repeats=2
        ),
        energy=EnergyFigure(
            5e-6, 1, True, "modeled: V x I x counter", "datasheet model", source="a datasheet"
        ),
        link={"retries": 1, "bytes": 2048.5},
        profile=Profile(
            "instructions", "QEMU", [OpProfile(0, "CONV_2D", 7)], whole=10, profiled_total=12
        ),
        model_facts={"macs": {"value": 300, "unit": "MAC/inference"}},
        efficiency={"macs_per_instruction": {"value": 27.3, "unit": "MAC/instruction"}},
        vectors=(
            VectorRecord(
                0,
                "random seed=0 #0",
                0,
                0,
                "instructions",
                (11, 11),
                300,
                {"tflm": VectorAgreement(True, 0.0, 0)},
            ),
        ),
        seconds=1.5,
    )


def test_a_record_survives_its_json_edge() -> None:
    record = full_record()
    text = json.dumps(record.to_json())  # JSON, nothing else: no default=str needed
    back = CaseRecord.from_json(json.loads(text))
    assert back == record
    assert back.engine.kernel_library == "cmsis-nn" and back.engine.tflm_revision == "1373af069e"
    assert back.agreement["litert"].within_tolerance == 2
    assert back.macs == 300 and back.label == "kws"


def test_records_are_frozen_and_retried_makes_a_new_one() -> None:
    record = full_record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "mismatch"  # type: ignore[misc]
    flaky = record.retried(["LinkError: gone"])
    assert (flaky.status, flaky.attempts, flaky.earlier_errors) == (
        "flaky",
        2,
        ("LinkError: gone",),
    )
    assert (record.status, record.attempts) == ("pass", 1)
    assert record.retried([]) is record


def test_result_row_leaves_the_record_as_it_was(tmp_path: Path) -> None:
    record = full_record()
    before = record.to_json()
    row = result_row(record, ModelCase(tmp_path / "kws.tflite"), "a300", RunContext("r1", None),
                     [ConnectionError("reset by peer")])  # fmt: skip
    assert record.to_json() == before
    assert (row["status"], row["attempts"], row["record"]["status"]) == ("flaky", 2, "flaky")
    assert (row["engine"], row["engine_version"]) == ("tflm", "1373af069e cmsis-nn release")
    assert (row["flash_bytes"], row["static_ram_bytes"]) == (1008, 72)
    assert row["energy_uj"] == pytest.approx(5.0)


def test_an_older_record_reads_back() -> None:
    """Written before the engine's parts, hil's version and bit-exact counts were kept."""
    old = {
        "case": "m",
        "status": "pass",
        "board": "mps2-an386",
        "engine": "tflm abc123 reference release",
        "aggregate": {"agreement": {"tflm": {"matched": 5, "total": 5}}, "counter": None},
    }
    record = CaseRecord.from_json(old)
    assert (record.engine.name, record.engine.kernel_library, record.engine.tflm_revision) == (
        "tflm", "reference", "abc123",
    )  # fmt: skip
    assert record.hil_version is None and record.agreement["tflm"].within_tolerance is None
    assert record.vectors == () and record.energy is None


@pytest.mark.parametrize(
    "bad",
    [
        {"case": "m"},  # no status
        {"case": "m", "status": "pass", "aggregate": []},
        {"case": "m", "status": "pass", "footprint": {"flash": {"value": 1}}},
        {"case": "m", "status": "pass", "energy": {"modeled": True, "method": "x"}},
    ],
)
def test_a_record_that_is_not_one_is_a_one_line_error(bad: dict[str, object]) -> None:
    with pytest.raises(RecordError, match=r"^case record m: not a hil case record \(") as err:
        CaseRecord.from_json(bad)
    assert "\n" not in str(err.value)

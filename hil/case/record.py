"""A finished case as one typed, immutable record: what the runner hands to
the results store, the JSON report, the HTML report and the pytest plugin.
It becomes JSON in one place (`CaseRecord.to_json`) and is read back from
JSON in one place (`CaseRecord.from_json`); nothing else parses a record.

One field per fact: a new fact is a new field here, in to_json and in
from_json (with its default for records written before it existed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from hil.device.protocol import Device
from hil.energy.errors import EnergyError
from hil.energy.figure import EnergyFigure
from hil.errors import HilError
from hil.firmware.footprint import Footprint
from hil.measurements.counters import Measurement
from hil.measurements.profile import Profile

# What a record carries without reading it (model facts, efficiency figures,
# an evaluation's accuracy): JSON, typed as such.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"


class RecordError(HilError):
    """A case record (from a JSON report or a results store) is not one of hil's."""


@dataclass(frozen=True)
class FirmwareRecord:
    build_id: str | None = None
    variant: str | None = None
    cflags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineRecord:
    """The engine as the device names it: hil's interpreter ("hil", its
    version) or TFLM ("tflm", "<revision> <kernel library> <build>")."""

    name: str = ""
    version: str = ""

    @property
    def text(self) -> str:
        return f"{self.name} {self.version}".strip()

    @property
    def kernel_library(self) -> str | None:
        """TFLM's kernel library (reference, cmsis-nn); None for other engines."""
        words = self.version.split()
        return words[1] if self.name == "tflm" and len(words) > 1 else None

    @property
    def tflm_revision(self) -> str | None:
        words = self.version.split()
        return words[0] if self.name == "tflm" and words else None

    @classmethod
    def of_text(cls, text: str) -> EngineRecord:
        """From "name version..." (records written before the engine's parts were kept)."""
        name, _, version = text.strip().partition(" ")
        return cls(name, version.strip())


@dataclass(frozen=True)
class DeviceFacts:
    """What a store row of a case says about the device, taken from it once
    (the results layer never holds the live device)."""

    board: str
    backend: str
    target: str
    firmware: FirmwareRecord
    engine: EngineRecord
    transport_used: str | None = None

    @classmethod
    def of(cls, dut: Device) -> DeviceFacts:
        try:
            build_id: str | None = dut.build_id
        except HilError:  # the device never answered
            build_id = dut.image.build_id if dut.image else None
        name, version = dut.engine_identity
        return cls(
            board=dut.resolution.board.name,
            backend=dut.resolution.backend,
            target=dut.description,
            firmware=FirmwareRecord(build_id, dut.variant, tuple(dut.cflags)),
            engine=EngineRecord(name, version),
            transport_used=dut.transport_used,
        )


@dataclass(frozen=True)
class ModelRecord:
    path: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    placement: str | None = None  # "linked" into the image, or "upload"ed into RAM

    @property
    def label(self) -> str | None:
        """The file's stem, as reports name the model."""
        if not self.path:
            return None
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[0] if "." in name else name


@dataclass(frozen=True)
class ReferenceRecord:
    version: str
    agreement: str  # "exact", or the tolerance it was held to


@dataclass(frozen=True)
class Agreement:
    """How a case's vectors agreed with one reference."""

    matched: int
    total: int
    max_abs_diff: float = 0.0
    reference_disagreements: int = 0  # elements where the reference left the exact oracle
    bit_exact: int | None = None  # vectors identical to the reference (None: not recorded)

    @property
    def within_tolerance(self) -> int | None:
        """Vectors that matched only within the tolerance."""
        return None if self.bit_exact is None else self.matched - self.bit_exact


@dataclass(frozen=True)
class VectorAgreement:
    ok: bool
    max_abs_diff: float
    elements_outside: int


@dataclass(frozen=True)
class VectorRecord:
    index: int
    source: str
    sequence: int = 0
    step: int = 0
    counter_kind: str | None = None
    repeats: tuple[int, ...] = ()  # the counter of each timed repeat
    stack_bytes: int | None = None
    agreement: Mapping[str, VectorAgreement] = field(default_factory=dict)


@dataclass(frozen=True)
class CounterRecord:
    """The counter per inference over every vector and repeat."""

    kind: str
    method: str
    min: int
    median: float
    p90: int
    max: int
    warmup: int = 0
    repeats: int = 1
    repeats_identical: bool = True

    def to_json(self) -> JsonObject:
        return {
            "kind": self.kind,
            "unit": self.kind,
            "method": self.method,
            "warmup": self.warmup,
            "repeats": self.repeats,
            "repeats_identical": self.repeats_identical,
            "per_inference": {
                "min": self.min,
                "median": self.median,
                "p90": self.p90,
                "max": self.max,
            },
        }


@dataclass(frozen=True)
class CaseRecord:
    case: str
    status: str
    board: str
    test: str | None = None  # the pytest node id
    instance: str | None = None
    backend: str | None = None
    target: str | None = None
    hil_version: str | None = None
    firmware: FirmwareRecord = field(default_factory=FirmwareRecord)
    engine: EngineRecord = field(default_factory=EngineRecord)
    transport_used: str | None = None  # what carried the bytes: "memory" or "serial"
    model: ModelRecord = field(default_factory=ModelRecord)
    sequence_length: int | None = None
    arena_used_bytes: int | None = None
    stack_used_bytes: int | None = None
    tflm_arena_used_bytes: int | None = None
    load_and_prepare: Measurement | None = None
    footprint: Footprint | None = None
    references: Mapping[str, ReferenceRecord] = field(default_factory=dict)
    unavailable_references: Mapping[str, str] = field(default_factory=dict)
    vector_count: int = 0
    agreement: Mapping[str, Agreement] = field(default_factory=dict)
    counter: CounterRecord | None = None
    energy: EnergyFigure | None = None
    energy_unavailable: str | None = None
    energy_error: str | None = None
    link: Mapping[str, float] | None = None
    profile: Profile | None = None
    model_facts: JsonObject | None = None
    efficiency: JsonObject | None = None
    vectors: tuple[VectorRecord, ...] = ()
    seconds: float | None = None
    attempts: int = 1
    earlier_errors: tuple[str, ...] = ()
    error: str | None = None  # a case that ended in an error instead of a result
    regression: str | None = None  # why it regressed against its baseline (--hil-baseline)
    accuracy: JsonObject | None = None  # an evaluation's (hil.accuracy)

    @property
    def macs(self) -> int | None:
        """MACs per inference from the model's facts."""
        figure = (self.model_facts or {}).get("macs")
        value = figure.get("value") if isinstance(figure, dict) else figure
        return int(value) if isinstance(value, int | float) and value else None

    @property
    def label(self) -> str:
        """The model's name as reports show it: the file's stem, else the case's name."""
        return self.model.label or self.case

    @property
    def where(self) -> str:
        """The instance, or the board when not in a rack."""
        return self.instance or self.board or "?"

    def retried(self, earlier: Sequence[str]) -> CaseRecord:
        """This record after infrastructure errors on earlier attempts: a pass is `flaky`."""
        if not earlier:
            return self
        return replace(
            self,
            attempts=len(earlier) + 1,
            earlier_errors=tuple(earlier),
            status="flaky" if self.status == "pass" else self.status,
        )

    # -- the edge ------------------------------------------------------------------

    def agreement_json(self) -> JsonObject:
        """Per reference: how many vectors matched (bit-exact, within tolerance), worst diff."""
        return {
            name: {
                "matched": a.matched,
                "total": a.total,
                "max_abs_diff": a.max_abs_diff,
                "reference_disagreements": a.reference_disagreements,
                "bit_exact": a.bit_exact,
                "within_tolerance": a.within_tolerance,
            }
            for name, a in self.agreement.items()
        }

    def to_json(self) -> JsonObject:
        """The record as JSON (the JSON report's cases, the store's record column)."""
        out: JsonObject = {
            "case": self.case,
            "test": self.test,
            "instance": self.instance,
            "sequence_length": self.sequence_length,
            "status": self.status,
            "error": self.error,
            "board": self.board,
            "backend": self.backend,
            "target": self.target,
            "hil_version": self.hil_version,
            "firmware": {
                "build_id": self.firmware.build_id,
                "variant": self.firmware.variant,
                "cflags": list(self.firmware.cflags),
            },
            "engine": self.engine.text,
            "engine_identity": {"name": self.engine.name, "version": self.engine.version},
            "transport_used": self.transport_used,
            "model": {
                "path": self.model.path,
                "sha256": self.model.sha256,
                "bytes": self.model.bytes,
                "inputs": list(self.model.inputs),
                "outputs": list(self.model.outputs),
                "placement": self.model.placement,
            },
            "arena_used_bytes": self.arena_used_bytes,
            "stack_used_bytes": self.stack_used_bytes,
            "tflm_arena_used_bytes": self.tflm_arena_used_bytes,
            "load_and_prepare": _json(self.load_and_prepare.to_dict())
            if self.load_and_prepare
            else None,
            "footprint": _json(self.footprint.to_dict()) if self.footprint else None,
            "references": {
                name: {"version": r.version, "agreement": r.agreement}
                for name, r in self.references.items()
            },
            "unavailable_references": dict(self.unavailable_references),
            "aggregate": {
                "vectors": self.vector_count,
                "agreement": self.agreement_json(),
                "counter": None if self.counter is None else self.counter.to_json(),
            },
            "energy": _json(self.energy.to_dict()) if self.energy else None,
            "link": dict(self.link) if self.link is not None else None,
            "energy_unavailable": self.energy_unavailable,
            "energy_error": self.energy_error,
            "profile": _json(self.profile.to_dict()) if self.profile else None,
            "model_facts": self.model_facts,
            "efficiency": self.efficiency,
            "vectors": [_vector_json(v) for v in self.vectors],
            "seconds": self.seconds,
            "attempts": self.attempts,
            "earlier_errors": list(self.earlier_errors),
            "regression": self.regression,
        }
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseRecord:
        """A record read back (this hil's to_json, or an older hil's record);
        RecordError when it is not one."""
        try:
            return _record(data)
        except (KeyError, TypeError, ValueError, AttributeError, EnergyError) as exc:
            raise RecordError(
                f"case record {data.get('case', '?') if isinstance(data, Mapping) else '?'}: "
                f"not a hil case record ({type(exc).__name__}: {exc})"
            ) from exc


def _json(value: Mapping[str, object]) -> JsonObject:
    """A sub-record's to_dict() (made of JSON values) as a JsonObject."""
    return dict(value)  # type: ignore[arg-type]


def _vector_json(v: VectorRecord) -> JsonObject:
    return {
        "index": v.index,
        "source": v.source,
        "sequence": v.sequence,
        "step": v.step,
        "counter": None
        if v.counter_kind is None
        else {"kind": v.counter_kind, "unit": v.counter_kind, "repeats": list(v.repeats)},
        "stack_bytes": v.stack_bytes,
        "agreement": {
            ref: {
                "ok": a.ok,
                "max_abs_diff": a.max_abs_diff,
                "elements_outside": a.elements_outside,
            }
            for ref, a in v.agreement.items()
        },
    }


# -- reading (the one place a record's JSON is taken apart) ----------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    """A JSON object, or {} for a missing (null) one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _cflags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # a store row's firmware_cflags, or an error record's
        return tuple(value.split())
    return tuple(str(f) for f in value or ())


def _engine(data: Mapping[str, Any]) -> EngineRecord:
    identity = _obj(data.get("engine_identity"))
    if identity:
        return EngineRecord(str(identity["name"]), str(identity["version"]))
    return EngineRecord.of_text(str(data.get("engine") or ""))


def _agreement(data: Mapping[str, Any]) -> Agreement:
    return Agreement(
        matched=int(data["matched"]),
        total=int(data["total"]),
        max_abs_diff=float(data.get("max_abs_diff") or 0.0),
        reference_disagreements=int(data.get("reference_disagreements") or 0),
        bit_exact=_opt_int(data.get("bit_exact")),
    )


def _counter(data: Mapping[str, Any]) -> CounterRecord | None:
    if not data:
        return None
    per = _obj(data["per_inference"])
    return CounterRecord(
        kind=str(data["kind"]),
        method=str(data.get("method") or ""),
        min=int(per.get("min", per["median"])),
        median=float(per["median"]),
        p90=int(per.get("p90", per["median"])),
        max=int(per.get("max", per["median"])),
        warmup=int(data.get("warmup") or 0),
        repeats=int(data.get("repeats") or 1),
        repeats_identical=bool(data.get("repeats_identical", True)),
    )


def _vector(data: Mapping[str, Any]) -> VectorRecord:
    counter = _obj(data.get("counter"))
    return VectorRecord(
        index=int(data["index"]),
        source=str(data.get("source") or ""),
        sequence=int(data.get("sequence") or 0),
        step=int(data.get("step") or 0),
        counter_kind=_opt_str(counter.get("kind")),
        repeats=tuple(int(r) for r in counter.get("repeats") or ()),
        stack_bytes=_opt_int(data.get("stack_bytes")),
        agreement={
            ref: VectorAgreement(
                bool(a["ok"]),
                float(a.get("max_abs_diff") or 0.0),
                int(a.get("elements_outside") or 0),
            )
            for ref, a in _obj(data.get("agreement")).items()
        },
    )


def _record(data: Mapping[str, Any]) -> CaseRecord:
    firmware = _obj(data.get("firmware"))
    model = _obj(data.get("model"))
    aggregate = _obj(data.get("aggregate"))
    cost = _obj(data.get("load_and_prepare"))
    footprint = _obj(data.get("footprint"))
    energy = _obj(data.get("energy"))
    profile = _obj(data.get("profile"))
    link = data.get("link")
    seconds = data.get("seconds")
    return CaseRecord(
        case=str(data.get("case") or model.get("path") or "?"),
        status=str(data["status"]),
        board=str(data.get("board") or ""),
        test=_opt_str(data.get("test")),
        instance=_opt_str(data.get("instance")),
        backend=_opt_str(data.get("backend")),
        target=_opt_str(data.get("target")),
        hil_version=_opt_str(data.get("hil_version")),
        firmware=FirmwareRecord(
            _opt_str(firmware.get("build_id")),
            _opt_str(firmware.get("variant")),
            _cflags(firmware.get("cflags")),
        ),
        engine=_engine(data),
        transport_used=_opt_str(data.get("transport_used")),
        model=ModelRecord(
            path=_opt_str(model.get("path")),
            sha256=_opt_str(model.get("sha256")),
            bytes=_opt_int(model.get("bytes")),
            inputs=tuple(str(s) for s in model.get("inputs") or ()),
            outputs=tuple(str(s) for s in model.get("outputs") or ()),
            placement=_opt_str(model.get("placement")),
        ),
        sequence_length=_opt_int(data.get("sequence_length")),
        arena_used_bytes=_opt_int(data.get("arena_used_bytes")),
        stack_used_bytes=_opt_int(data.get("stack_used_bytes")),
        tflm_arena_used_bytes=_opt_int(data.get("tflm_arena_used_bytes")),
        load_and_prepare=Measurement.from_dict(cost) if cost else None,
        footprint=Footprint.from_dict(footprint) if footprint else None,
        references={
            name: ReferenceRecord(str(r.get("version") or ""), str(r.get("agreement") or ""))
            for name, r in _obj(data.get("references")).items()
        },
        unavailable_references={
            str(k): str(v) for k, v in _obj(data.get("unavailable_references")).items()
        },
        vector_count=int(aggregate.get("vectors") or 0),
        agreement={
            name: _agreement(_obj(a)) for name, a in _obj(aggregate.get("agreement")).items()
        },
        counter=_counter(_obj(aggregate.get("counter"))),
        energy=EnergyFigure.from_dict(energy) if energy else None,
        energy_unavailable=_opt_str(data.get("energy_unavailable")),
        energy_error=_opt_str(data.get("energy_error")),
        link=None if link is None else {str(k): _number(v) for k, v in _obj(link).items()},
        profile=Profile.from_dict(profile) if profile else None,
        model_facts=dict(data["model_facts"]) if data.get("model_facts") else None,
        efficiency=dict(data["efficiency"]) if data.get("efficiency") else None,
        vectors=tuple(_vector(_obj(v)) for v in data.get("vectors") or ()),
        seconds=None if seconds is None else float(seconds),
        attempts=int(data.get("attempts") or 1),
        earlier_errors=tuple(str(e) for e in data.get("earlier_errors") or ()),
        regression=_opt_str(data.get("regression")),
        error=_opt_str(data.get("error")),
        accuracy=dict(data["accuracy"]) if data.get("accuracy") else None,
    )

"""Run one model case on a device and on the host references, and judge it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hil import __version__, progress
from hil.boards.board import Board
from hil.case.compare import TensorComparison, compare_tensor
from hil.case.model_case import ModelCase
from hil.case.record import (
    Agreement,
    CaseRecord,
    CounterRecord,
    EngineRecord,
    FirmwareRecord,
    JsonObject,
    ModelRecord,
    ReferenceRecord,
    VectorAgreement,
    VectorRecord,
)
from hil.device.protocol import Device, Timing
from hil.energy.errors import EnergyError
from hil.energy.figure import EnergyFigure
from hil.energy.meter import Meter
from hil.energy.modeled import modeled_energy_or_reason
from hil.energy.plan import EnergyPlan, measure_energy
from hil.errors import HilError, ModelFileError
from hil.firmware.footprint import Footprint, footprint
from hil.firmware.tflm_resolver import ops_mode_of
from hil.link.session import LoadedModel
from hil.measurements.counters import Measurement
from hil.measurements.profile import Profile
from hil.model.facts import ModelFacts, efficiency, model_facts
from hil.model.file import ModelFile
from hil.model.vectors import Vector, check_vector, load_npy_vectors, random_vectors
from hil.references import Reference, make_references

MAX_REPORTED_DIFFS = 5


@dataclass
class VectorResult:
    index: int
    source: str
    measurements: list[Measurement]  # one per timed repeat
    stack_bytes: int | None  # None: the protocol cannot tell
    comparisons: dict[str, list[TensorComparison]]
    outputs: list[np.ndarray] = field(default_factory=list, repr=False)  # the device's
    #: Which sequence the vector belongs to and its step in it (both from 0):
    #: device and references were reset to the initial state before step 0.
    sequence: int = 0
    step: int = 0
    stateful: bool = False  # the model has variable tensors: steps matter

    def ok(self, reference: str) -> bool:
        return all(c.ok for c in self.comparisons.get(reference, []))

    @property
    def where(self) -> str:
        """'vector 12 (sequence 1, step 2; random seed=0 #12)' for a stateful
        model, 'vector 12 (random seed=0 #12)' for a stateless one."""
        if not self.stateful:
            return f"vector {self.index} ({self.source})"
        return f"vector {self.index} (sequence {self.sequence}, step {self.step}; {self.source})"

    def record(self) -> VectorRecord:
        first = self.measurements[0] if self.measurements else None
        return VectorRecord(
            index=self.index,
            source=self.source,
            sequence=self.sequence,
            step=self.step,
            counter_kind=None if first is None else first.kind,
            repeats=tuple(m.value for m in self.measurements),
            stack_bytes=self.stack_bytes,
            agreement={
                ref: VectorAgreement(
                    ok=self.ok(ref),
                    max_abs_diff=max((c.max_abs_diff for c in comps), default=0.0),
                    elements_outside=sum(c.n_outside for c in comps),
                )
                for ref, comps in self.comparisons.items()
            },
        )

    def bit_exact(self, reference: str) -> bool:
        """Agrees with the reference to the last bit (not only within tolerance)."""
        comps = self.comparisons.get(reference, [])
        return all(c.ok and c.max_abs_diff == 0 for c in comps)


@dataclass
class CaseResult:
    case: ModelCase
    model: ModelFile
    dut_description: str
    backend: str
    board: str
    firmware_build_id: str
    firmware_variant: str
    engine: str
    loaded: LoadedModel
    engine_identity: tuple[str, str] = ("", "")  # (engine, version) as the device names them
    references: dict[str, str] = field(default_factory=dict)  # name -> version
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> reason
    agreement: dict[str, str] = field(default_factory=dict)  # name -> exact | tolerance
    vectors: list[VectorResult] = field(default_factory=list)
    profile: Profile | None = None
    footprint: Footprint | None = None
    tflm_arena: int | None = None  # TFLM's own arena use for the model (host, 64-bit)
    load_cost: Measurement | None = None  # parsing, planning and preparing on the device
    warmup: int = 0
    repeats: int = 1
    seconds: float = 0.0
    firmware_cflags: tuple[str, ...] = ()  # extra compiler flags the image was built with
    energy: EnergyFigure | None = None  # per inference: measured, or modeled (and labelled so)
    energy_unavailable: str | None = None  # why there is no energy figure
    energy_error: str | None = None  # a meter was given but could not measure
    #: What the link went through during the case (retries, bad frames, resyncs, ...)
    link: dict[str, float] | None = None
    #: What carried the case's bytes: "memory" (the debug port) or "serial" (the UART)
    transport: str = "serial"

    def matched(self, reference: str) -> int:
        return sum(v.ok(reference) for v in self.vectors)

    def excused(self, reference: str) -> int:
        """Elements where this reference departs from the exact oracle beyond
        its tolerance, and so says nothing about the device."""
        return sum(c.n_excused for v in self.vectors for c in v.comparisons.get(reference, []))

    def max_abs_diff(self, reference: str) -> float:
        diffs = [c.max_abs_diff for v in self.vectors for c in v.comparisons.get(reference, [])]
        return max(diffs, default=0.0)

    @property
    def passed(self) -> bool:
        return all(self.matched(r) == len(self.vectors) for r in self.references)

    @property
    def status(self) -> str:
        if not self.passed:
            return "mismatch"
        return "error" if self.energy_error else "pass"  # the reason: energy_error

    def counter_summary(self) -> JsonObject | None:
        """The counter figures as the record's JSON has them."""
        counter = self.counter()
        return None if counter is None else counter.to_json()

    def counter(self) -> CounterRecord | None:
        """min, median, p90 and max per inference over every vector and repeat."""
        values = [m.value for v in self.vectors for m in v.measurements]
        if not values:
            return None
        first = next(m for v in self.vectors for m in v.measurements)
        return CounterRecord(
            kind=first.kind,
            method=first.method,
            min=min(values),
            median=float(statistics.median(values)),
            p90=int(np.percentile(values, 90, method="nearest")),
            max=max(values),
            warmup=self.warmup,
            repeats=self.repeats,
            repeats_identical=all(
                len({m.value for m in v.measurements}) == 1 for v in self.vectors
            ),
        )

    @property
    def stack_bytes(self) -> int | None:
        known = [v.stack_bytes for v in self.vectors if v.stack_bytes is not None]
        return max(known) if known else None

    def failures(self) -> list[str]:
        """Readable diffs for the first failing vectors."""
        out = []
        for v in self.vectors:
            for _ref, comps in v.comparisons.items():
                for c in comps:
                    if not c.ok:
                        out.append(f"{v.where}: {c.describe()}")
        return out

    def failure_report(self) -> str:
        lines = [
            f"{self.case.name} on {self.dut_description}: outputs disagree",
            *(
                f"  {r}: {self.matched(r)}/{len(self.vectors)} vectors agree "
                f"({self.agreement[r]}), max |diff| {self.max_abs_diff(r):g}"
                for r in self.references
            ),
        ]
        first = next((v for v in self.vectors if not all(v.ok(r) for r in self.references)), None)
        if first is not None:
            reset = (
                f"state reset every {self.case.sequence_length} vectors"
                if self.model.has_variables
                else "stateless model"
            )
            lines.append(f"  first disagreement: {first.where} ({reset})")
        diffs = self.failures()
        lines += diffs[:MAX_REPORTED_DIFFS]
        if len(diffs) > MAX_REPORTED_DIFFS:
            lines.append(f"... and {len(diffs) - MAX_REPORTED_DIFFS} more differing outputs")
        return "\n".join(lines)

    def facts(self) -> ModelFacts | None:
        """MACs and parameters from the model, or None if they cannot be derived."""
        try:
            return model_facts(self.model)
        except ModelFileError:
            return None

    def efficiency(self) -> dict[str, Any] | None:
        facts, counter = self.facts(), self.counter()
        if facts is None or counter is None or not facts.macs:
            return None
        median = int(counter.median)
        arena = self.loaded.arena_used
        figures = efficiency(facts, counter.kind, median, arena or 0)
        if arena is None:  # the protocol could not say; no figure beats a false one
            figures.pop("arena_bytes", None)
            figures.pop("arena_bytes_per_param", None)
        return figures

    def record(self, test: str | None = None, instance: str | None = None) -> CaseRecord:
        """The typed record of this case (what the store and the reports get)."""
        facts = self.facts()
        efficiency = self.efficiency()
        return CaseRecord(
            case=self.case.name,
            status=self.status,
            board=self.board,
            test=test,
            instance=instance,
            backend=self.backend,
            target=self.dut_description,
            hil_version=__version__,
            firmware=FirmwareRecord(
                self.firmware_build_id, self.firmware_variant, tuple(self.firmware_cflags)
            ),
            engine=EngineRecord(*self.engine_identity)
            if any(self.engine_identity)
            else EngineRecord.of_text(self.engine),
            transport_used=self.transport,
            model=ModelRecord(
                path=str(self.model.path),
                sha256=self.model.sha256,
                bytes=len(self.model.data),
                inputs=tuple(s.describe() for s in self.model.inputs),
                outputs=tuple(s.describe() for s in self.model.outputs),
                placement="linked" if self.loaded.linked else "upload",
            ),
            sequence_length=self.case.sequence_length,
            arena_used_bytes=self.loaded.arena_used,
            stack_used_bytes=self.stack_bytes,
            tflm_arena_used_bytes=self.tflm_arena,
            load_and_prepare=self.load_cost,
            footprint=self.footprint,
            references={
                name: ReferenceRecord(version, self.agreement[name])
                for name, version in self.references.items()
            },
            unavailable_references=dict(self.unavailable),
            vector_count=len(self.vectors),
            agreement={
                r: Agreement(
                    matched=self.matched(r),
                    total=len(self.vectors),
                    max_abs_diff=self.max_abs_diff(r),
                    reference_disagreements=self.excused(r),
                    bit_exact=sum(v.bit_exact(r) for v in self.vectors),
                )
                for r in self.references
            },
            counter=self.counter(),
            energy=self.energy,
            energy_unavailable=self.energy_unavailable,
            energy_error=self.energy_error,
            link=self.link,
            profile=self.profile,
            model_facts=facts.to_dict() if facts else None,
            efficiency=dict(efficiency) if efficiency else None,
            vectors=tuple(v.record() for v in self.vectors),
            seconds=round(self.seconds, 3),
        )

    def to_dict(self) -> JsonObject:
        """The record as JSON."""
        return self.record().to_json()


def case_vectors(case: ModelCase, model: ModelFile) -> list[tuple[str, Vector]]:
    specs = model.inputs
    out: list[tuple[str, Vector]] = []
    for n, vec in enumerate(random_vectors(specs, case.vectors, case.seed, case.float_range)):
        out.append((f"random seed={case.seed} #{n}", vec))
    if case.inputs:
        for n, vec in enumerate(load_npy_vectors(specs, case.inputs)):
            out.append((f"npy #{n}", vec))
    for source, vec in out:
        check_vector(specs, vec, source)
    if not out:
        raise HilError(f"case {case.name}: no vectors (set vectors > 0 or give inputs)")
    return out


def _check_device_specs(model: ModelFile, loaded: LoadedModel) -> None:
    for kind, host, device in (
        ("input", model.inputs, loaded.inputs),
        ("output", model.outputs, loaded.outputs),
    ):
        if len(host) != len(device):
            raise HilError(f"device reports {len(device)} {kind}s, the model has {len(host)}")
        for i, (h, d) in enumerate(zip(host, device, strict=True)):
            if h.dtype != d.dtype or tuple(h.shape) != tuple(d.shape):
                raise HilError(
                    f"{kind} {i}: device says {d.dtype} {list(d.shape)}, the model says "
                    f"{h.dtype} {list(h.shape)}"
                )


def _link_stats(dut: Device) -> dict[str, float] | None:
    """The device's link counters (over its sessions); None where its protocol counts none."""
    return dict(dut.link_stats()) or None


def _link_delta(
    before: dict[str, float] | None, after: dict[str, float] | None
) -> dict[str, float] | None:
    """The counters of one case; all of them if the session was replaced meanwhile."""
    if after is None or before is None:
        return after
    delta = {k: v - before.get(k, 0) for k, v in after.items()}
    if any(v < 0 for v in delta.values()):
        return after
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in delta.items()}


def run_case(
    dut: Device,
    case: ModelCase,
    *,
    warmup: int = 0,
    repeats: int = 1,
    profile: bool = False,
    litert_resolver: str = "ref",
    references: list[Reference] | None = None,
    vectors: list[tuple[str, Vector]] | None = None,
    on_vector: Callable[[int, int], None] | None = None,
    meter: Meter | None = None,
    energy_plan: EnergyPlan | None = None,
) -> CaseResult:
    """Run `case` (or the given labelled `vectors`) on the device and the
    references; with a `meter`, then measure energy per inference on the
    first vector (else model it, where the board's figures allow)."""
    started = time.monotonic()
    link_before = _link_stats(dut)
    model = ModelFile(case.model)
    if vectors is None:
        vectors = case_vectors(case, model)
    else:
        for source, vec in vectors:
            check_vector(model.inputs, vec, source)
    if references is None:
        refs, unavailable = make_references(
            model.data, len(model.outputs), case.references, litert_resolver
        )
    else:
        refs, unavailable = references, {}
    if not any(r.agreement == "exact" for r in refs):
        why = "; ".join(f"{k}: {v}" for k, v in unavailable.items()) or "none requested"
        raise HilError(f"case {case.name}: no bit-exact reference can run this model ({why})")
    if model.has_resource_variables and (warmup or repeats > 1 or profile):
        # The agent sets state aside around extra inferences only where it can
        # reach it (variable tensors); TFLM keeps resource variables to itself.
        raise HilError(
            f"case {case.name}: the model keeps its state in resource variables, which the "
            "device cannot set aside around warm-up, repeated or profiled inferences: run it "
            "with warm-up 0, repeats 1 and no profile"
        )
    loaded = dut.load(model, case.model_placement)
    _check_device_specs(model, loaded)
    result = CaseResult(
        case=case,
        model=model,
        dut_description=dut.description,
        backend=dut.resolution.backend,
        board=dut.board.name,
        firmware_build_id=dut.build_id,
        firmware_variant=dut.variant,
        firmware_cflags=dut.cflags,
        engine=dut.engine,
        engine_identity=dut.engine_identity,
        transport=dut.transport_used,
        loaded=loaded,
        references={r.name: r.version for r in refs},
        unavailable=unavailable,
        agreement={},
        warmup=warmup,
        repeats=repeats,
        footprint=footprint(dut.image.elf, ops_mode_of(dut.engine)) if dut.image else None,
        load_cost=dut.load_cost(loaded),
    )
    with progress.task("vectors", case.name, len(vectors), "vectors") as shown:
        for n, (source, vector) in enumerate(vectors):
            # The start of a sequence: the same initial state on the device and the host.
            if model.has_variables and n % case.sequence_length == 0:
                dut.reset_state(model)
                for ref in refs:
                    ref.reset()
            run = dut.infer(
                model, loaded, vector, Timing(warmup, repeats, profile=profile and n == 0)
            )
            device_out = run.outputs
            if run.profile is not None:
                result.profile = run.profile
            comparisons: dict[str, list[TensorComparison]] = {}
            # Exact references first: their outputs judge the tolerance references'.
            with dut.phases.phase("references"):
                outputs = {ref.name: ref.run(vector) for ref in refs}
            oracle = next((outputs[r.name] for r in refs if r.agreement == "exact"), None)
            for ref in refs:
                ref_out = outputs[ref.name]
                comps = []
                for i, spec in enumerate(model.outputs):
                    tol = case.tolerance(ref.name, np.issubdtype(spec.dtype, np.floating))
                    result.agreement.setdefault(ref.name, tol.describe(spec.dtype))
                    judge = oracle[i] if oracle is not None and ref.agreement != "exact" else None
                    comps.append(
                        compare_tensor(i, spec, device_out[i], ref_out[i], ref.name, tol, judge)
                    )
                comparisons[ref.name] = comps
            sequence, step = divmod(n, case.sequence_length)
            result.vectors.append(
                VectorResult(
                    n,
                    source,
                    run.measurements,
                    run.stack_bytes,
                    comparisons,
                    device_out,
                    sequence=sequence,
                    step=step,
                    stateful=model.has_variables,
                )
            )
            shown.advance(n + 1)
            if on_vector:
                on_vector(n + 1, len(vectors))
    for ref in refs:
        if ref.name == "tflm":
            result.tflm_arena = ref.arena_used_bytes()
    if meter is not None:
        vector = vectors[0][1]
        try:
            result.energy = measure_energy(
                meter,
                lambda n: dut.run_marked(model, vector, n),
                energy_plan or EnergyPlan(),
                core_clock_hz=dut.board.clock_hz,
            )
        except EnergyError as exc:
            result.energy_error = str(exc)
            result.energy_unavailable = f"the measurement failed: {exc}"
    else:
        result.energy, result.energy_unavailable = modeled_case_energy(dut.board, result.counter())
    result.seconds = time.monotonic() - started
    result.link = _link_delta(link_before, _link_stats(dut))
    result.transport = dut.transport_used  # a reset may have fallen back to serial
    return result


def modeled_case_energy(
    board: Board, counter: CounterRecord | None
) -> tuple[EnergyFigure | None, str | None]:
    """Modeled energy per inference from the case's median counter, or why
    there is none (no cited figures for the board, a counter kind the model
    cannot use, no counter at all)."""
    if counter is None:
        return None, "no counter was measured, so there is nothing to model energy from"
    median = Measurement(counter.kind, int(counter.median), counter.method)
    modeled = modeled_energy_or_reason(board, median)
    if isinstance(modeled, EnergyFigure):
        return modeled, None
    return None, modeled.reason

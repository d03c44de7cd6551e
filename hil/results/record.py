"""One store row from a finished case (its typed CaseRecord) or from the
error that ended it, and the status each of hil's errors maps to."""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hil import __version__
from hil.case.model_case import ModelCase
from hil.case.record import CaseRecord, DeviceFacts, ModelRecord
from hil.errors import DeviceFaultError, DeviceHangError, LinkError
from hil.results.runs import process_started


def status_of_error(exc: BaseException) -> str:
    """DeviceHangError -> timeout, DeviceFaultError -> device-fault, any other
    LinkError -> link-error; other failures -> error."""
    if isinstance(exc, DeviceHangError):
        return "timeout"
    if isinstance(exc, DeviceFaultError):
        return "device-fault"
    if isinstance(exc, LinkError):
        return "link-error"
    return "error"


def new_run_id() -> str:
    """Sorts by time: 20250101T020000Z-3f9a1c."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class RunContext:
    """What every row of one run shares, and the runs row: which process runs
    it (the xdist controller's, passed to its workers), to tell later whether
    it died."""

    run_id: str
    git_revision: str | None
    started: str = field(default_factory=now)
    host: str = field(default_factory=platform.node)
    command: str = field(default_factory=lambda: " ".join(sys.argv)[:500])
    pid: int = field(default_factory=os.getpid)
    pid_started: int | None = field(default_factory=lambda: process_started(os.getpid()))

    def run_row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "git_revision": self.git_revision,
            "host": self.host,
            "pid": self.pid,
            "pid_started": self.pid_started,
            "command": self.command,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunContext:
        return cls(**{k: row[k] for k in RUN_CONTEXT_FIELDS})


RUN_CONTEXT_FIELDS = ("run_id", "git_revision", "started", "host", "command", "pid", "pid_started")


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _case_columns(
    record: CaseRecord, case: ModelCase, run: RunContext, instance: str
) -> dict[str, Any]:
    """The columns every row has, finished or not: the run, the device, the model, the vectors."""
    return {
        "run_id": run.run_id,
        "time": now(),
        "git_revision": run.git_revision,
        "test": record.test,
        "board": record.board,
        "instance": instance,
        "backend": record.backend,
        "target": record.target,
        "firmware_build_id": record.firmware.build_id,
        "firmware_variant": record.firmware.variant,
        "firmware_cflags": " ".join(record.firmware.cflags),
        "engine": record.engine.name or record.engine.text,
        "engine_version": record.engine.version,
        "transport_used": record.transport_used,
        "model_name": record.case or case.name,
        "model_sha256": record.model.sha256,
        "vector_seed": case.seed,
        "vector_count": case.vectors,
        "vector_files": [str(p) for p in case.inputs],
    }


def row_from_record(
    record: CaseRecord, case: ModelCase, run: RunContext, instance: str
) -> dict[str, Any]:
    """The store row (its columns, the store's edge) of a finished case."""
    counter, fp, energy = record.counter, record.footprint, record.energy
    return {
        **_case_columns(record, case, run, instance),
        "agreement": record.agreement_json() or None,
        "counter_kind": counter.kind if counter else None,
        "counter_method": counter.method if counter else None,
        "counter_min": counter.min if counter else None,
        "counter_median": counter.median if counter else None,
        "counter_p90": counter.p90 if counter else None,
        "counter_max": counter.max if counter else None,
        "flash_bytes": fp.flash if fp else None,
        "static_ram_bytes": fp.static_ram if fp else None,
        "footprint": fp.to_dict() if fp else None,
        "arena_bytes": record.arena_used_bytes,
        "stack_bytes": record.stack_used_bytes,
        "energy_uj": energy.energy_per_inference_j * 1e6 if energy else None,
        "reference_versions": {name: r.version for name, r in record.references.items()},
        "status": record.status,
        "attempts": record.attempts,
        "error": f"energy: {record.energy_error}" if record.energy_error else None,
        "record": record.to_json(),
    }


def error_record(
    exc: BaseException, case: ModelCase, device: DeviceFacts, test: str | None = None
) -> CaseRecord:
    """The record of a case that ended in an error instead of a result."""
    return CaseRecord(
        case=case.name,
        status=status_of_error(exc),
        error=f"{type(exc).__name__}: {exc}",
        board=device.board,
        backend=device.backend,
        target=device.target,
        hil_version=__version__,
        firmware=device.firmware,
        engine=device.engine,
        transport_used=device.transport_used,
        model=ModelRecord(path=os.fspath(case.model), sha256=_sha256(Path(case.model))),
        test=test,
    )


def row_from_error(
    record: CaseRecord, case: ModelCase, run: RunContext, instance: str
) -> dict[str, Any]:
    """The store row of a case that ended in an error (its error_record)."""
    return {
        **_case_columns(record, case, run, instance),
        "status": record.status,
        "attempts": record.attempts,
        "error": record.error,
        "record": replace(record, instance=instance).to_json(),
    }

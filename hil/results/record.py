"""One store row from a finished case (its CaseResult record) or from the
error that ended it, and the status each of hil's errors maps to."""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.case.model_case import ModelCase
from hil.device.protocol import Device
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


def engine_of(dut: Device) -> tuple[str, str]:
    """(engine, version) as the device reports them."""
    return dut.engine_identity


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _figure(value: Any) -> Any:
    """A footprint figure: {"value": N, "unit": "B"} -> N."""
    return value.get("value") if isinstance(value, dict) else value


ENERGY_UNITS = {"J": 1e6, "mJ": 1e3, "uJ": 1.0, "µJ": 1.0, "nJ": 1e-3}


def energy_uj(record: dict[str, Any]) -> float | None:
    """Energy per inference in µJ from a record's energy figure
    (`energy.energy_per_inference`: {"value": x, "unit": "J"}, as
    hil.energy.EnergyFigure.to_dict() gives it); None when not measured."""
    figure = (record.get("energy") or {}).get("energy_per_inference")
    if not isinstance(figure, dict) or figure.get("value") is None:
        return None
    scale = ENERGY_UNITS.get(str(figure.get("unit", "uJ")))
    return None if scale is None else float(figure["value"]) * scale


def cflags_text(cflags: Any) -> str:
    return " ".join(cflags) if isinstance(cflags, list | tuple) else str(cflags or "")


def row_from_record(
    record: dict[str, Any],
    case: ModelCase,
    run: RunContext,
    instance: str,
    engine: tuple[str, str],
) -> dict[str, Any]:
    """The store row of a finished case; `record` is CaseResult.to_dict()."""
    counter = (record.get("aggregate") or {}).get("counter") or {}
    per = counter.get("per_inference") or {}
    fp = record.get("footprint") or {}
    refs = record.get("references") or {}
    return {
        "run_id": run.run_id,
        "time": now(),
        "git_revision": run.git_revision,
        "test": record.get("test"),
        "board": record["board"],
        "instance": instance,
        "backend": record.get("backend"),
        "target": record.get("target"),
        "firmware_build_id": (record.get("firmware") or {}).get("build_id"),
        "firmware_variant": (record.get("firmware") or {}).get("variant"),
        "firmware_cflags": cflags_text((record.get("firmware") or {}).get("cflags")),
        "engine": engine[0] or record.get("engine"),
        "engine_version": engine[1],
        "transport_used": record.get("transport_used"),
        "model_name": record.get("case") or case.name,
        "model_sha256": (record.get("model") or {}).get("sha256"),
        "vector_seed": case.seed,
        "vector_count": case.vectors,
        "vector_files": [str(p) for p in case.inputs],
        "agreement": (record.get("aggregate") or {}).get("agreement"),
        "counter_kind": counter.get("kind"),
        "counter_method": counter.get("method"),
        "counter_min": per.get("min"),
        "counter_median": per.get("median"),
        "counter_p90": per.get("p90"),
        "counter_max": per.get("max"),
        "flash_bytes": _figure(fp.get("flash")),
        "static_ram_bytes": _figure(fp.get("static_ram")),
        "footprint": fp or None,
        "arena_bytes": record.get("arena_used_bytes"),
        "stack_bytes": record.get("stack_used_bytes"),
        "energy_uj": energy_uj(record),
        "reference_versions": {name: r.get("version") for name, r in refs.items()},
        "status": record["status"],
        "attempts": 1,
        "error": f"energy: {record['energy_error']}" if record.get("energy_error") else None,
        "record": record,
    }


def row_from_error(
    exc: BaseException,
    case: ModelCase,
    run: RunContext,
    *,
    board: str,
    instance: str,
    backend: str,
    target: str,
    firmware_build_id: str | None,
    engine: tuple[str, str],
    test: str | None = None,
    firmware_variant: str | None = None,
    firmware_cflags: str = "",
    transport_used: str | None = None,
) -> dict[str, Any]:
    """The store row of a case that ended in an error instead of a result."""
    status = status_of_error(exc)
    sha = _sha256(Path(case.model))
    record = {
        "case": case.name,
        "status": status,
        "error": f"{type(exc).__name__}: {exc}",
        "board": board,
        "instance": instance,
        "backend": backend,
        "target": target,
        "firmware": {
            "build_id": firmware_build_id,
            "variant": firmware_variant,
            "cflags": firmware_cflags,
        },
        "model": {"path": os.fspath(case.model), "sha256": sha},
        "transport_used": transport_used,
        "test": test,
    }
    return {
        "run_id": run.run_id,
        "time": now(),
        "git_revision": run.git_revision,
        "test": test,
        "board": board,
        "instance": instance,
        "backend": backend,
        "target": target,
        "firmware_build_id": firmware_build_id,
        "firmware_variant": firmware_variant,
        "firmware_cflags": firmware_cflags,
        "engine": engine[0],
        "engine_version": engine[1],
        "transport_used": transport_used,
        "model_name": case.name,
        "model_sha256": sha,
        "vector_seed": case.seed,
        "vector_count": case.vectors,
        "vector_files": [str(p) for p in case.inputs],
        "status": status,
        "attempts": 1,
        "error": record["error"],
        "record": record,
    }

"""What the HTML report is made of: typed case records (the JSON report's
`cases`, or the `record` column of a results store) with the run each
belongs to. Runs are ordered by the time they were recorded, never by the
order the sources were given in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from hil.case.record import CaseRecord, RecordError
from hil.errors import HilError
from hil.reports.json_report import SCHEMA
from hil.results.engines import describe, is_postgres
from hil.results.read import RunCase, StoreReadError, stored_cases

__all__ = ["ReportData", "ReportSourceError", "RunCase", "load_sources", "recorded_at"]

OLDEST = datetime.min.replace(tzinfo=timezone.utc)


class ReportSourceError(HilError):
    """A report source is missing, unreadable or not one of hil's."""


def recorded_at(text: str | None) -> datetime | None:
    """A recorded timestamp ("2026-11-23T02:00:00+0000", ISO 8601; UTC when
    it names no zone), or None when there is none to read."""
    if not text:
        return None
    for parse in (lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            when = parse(text)
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None


@dataclass
class ReportData:
    """Every case record; `runs` oldest first by recorded time, `latest` the newest run's."""

    sources: list[str]
    cases: list[RunCase] = field(default_factory=list)

    @property
    def runs(self) -> list[str]:
        """Run ids, oldest first: by the earliest time recorded in each run
        (runs with no readable time first), then in the order they came."""
        started: dict[str, datetime] = {}
        for c in self.cases:
            when = recorded_at(c.time) or OLDEST
            started[c.run_id] = min(started.get(c.run_id, when), when)
        order = {r: i for i, r in enumerate(started)}
        return sorted(started, key=lambda r: (started[r], order[r]))

    @property
    def latest(self) -> list[RunCase]:
        runs = self.runs
        return [c for c in self.cases if c.run_id == runs[-1]] if runs else []

    @property
    def records(self) -> list[CaseRecord]:
        """The newest run's records."""
        return [c.record for c in self.latest]


def load_sources(locations: list[Path | str]) -> ReportData:
    """JSON reports and/or results stores (SQLite files or postgresql:// URLs)."""
    data = ReportData([describe(p) for p in locations])
    for location in locations:
        if is_postgres(location):
            data.cases += _stored(location)
            continue
        path = Path(location)
        if not path.is_file():
            raise ReportSourceError(f"report source {path} does not exist")
        if path.read_bytes()[:16] == b"SQLite format 3\x00":
            data.cases += _stored(path)
        else:
            data.cases += _from_json(path)
    if not data.cases:
        raise ReportSourceError(f"no cases in {', '.join(data.sources)}")
    return data


def _from_json(path: Path) -> list[RunCase]:
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportSourceError(f"{path}: not a JSON report or results store: {exc}") from exc
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ReportSourceError(f"{path}: not a hil JSON report (schema {SCHEMA})")
    created = report.get("created")
    run_id = f"{created or '?'} {path.name}"
    version = report.get("hil_version")  # the report's, for records older than their own
    try:
        records = [CaseRecord.from_json(c) for c in report["cases"]]
    except (KeyError, TypeError, RecordError) as exc:
        raise ReportSourceError(f"{path}: {exc}") from exc
    when = None if created is None else str(created)
    return [
        RunCase(
            run_id, when, r if r.hil_version or not version else replace(r, hil_version=version)
        )
        for r in records
    ]


def _stored(location: Path | str) -> list[RunCase]:
    try:
        return stored_cases(location)
    except StoreReadError as exc:
        raise ReportSourceError(str(exc)) from exc

"""What the HTML report is made of: case records (the JSON report's `cases`,
or the `record` column of a results store) with the run each belongs to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.errors import HilError
from hil.reports.json_report import SCHEMA
from hil.results.engines import describe, is_postgres
from hil.results.read import StoreReadError, stored_cases


class ReportSourceError(HilError):
    """A report source is missing, unreadable or not one of hil's."""


@dataclass
class ReportData:
    """Every case record, oldest run first; `latest` is the newest run's."""

    sources: list[str]
    cases: list[dict[str, Any]] = field(default_factory=list)  # each with "run_id", "time"

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(c["run_id"] for c in self.cases))

    @property
    def latest(self) -> list[dict[str, Any]]:
        runs = self.runs
        return [c for c in self.cases if c["run_id"] == runs[-1]] if runs else []


def load_sources(locations: list[Path | str]) -> ReportData:
    """JSON reports and/or results stores (SQLite files or postgresql://
    URLs), in the order given."""
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


def _from_json(path: Path) -> list[dict[str, Any]]:
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportSourceError(f"{path}: not a JSON report or results store: {exc}") from exc
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ReportSourceError(f"{path}: not a hil JSON report (schema {SCHEMA})")
    run_id = f"{report.get('created', '?')} {path.name}"
    return [{**c, "run_id": run_id, "time": report.get("created")} for c in report["cases"]]


def _stored(location: Path | str) -> list[dict[str, Any]]:
    try:
        return stored_cases(location)
    except StoreReadError as exc:
        raise ReportSourceError(str(exc)) from exc


def case_label(case: dict[str, Any]) -> str:
    """The model's name (file stem) as the report shows it."""
    path = (case.get("model") or {}).get("path")
    return Path(path).stem if path else str(case.get("case", "?"))


def where(case: dict[str, Any]) -> str:
    """The instance, or the board when not in a rack."""
    return str(case.get("instance") or case.get("board") or "?")


def macs(case: dict[str, Any]) -> int | None:
    """MACs per inference from the record's model facts ({"value", "unit"})."""
    figure = (case.get("model_facts") or {}).get("macs")
    value = figure.get("value") if isinstance(figure, dict) else figure
    return int(value) if value else None

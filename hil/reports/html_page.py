"""The self-contained HTML report (`hil report`, `pytest --hil-html`),
rendered from the jinja2 template templates/report.html.j2 (package data)
with autoescaping on: plots inlined as PNG data URIs, inline CSS, no scripts
and no external files, so the page can be mailed or archived as one file.
CSV and JSON exports carry the same table."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from hil.case.record import CaseRecord
from hil.energy.trace import Trace
from hil.reports import plots
from hil.reports.sources import ReportData, RunCase

COLUMNS = (
    "run", "board", "model", "status", "counter_kind", "counter_median",
    "energy_uj", "energy_kind", "macs", "arena_bytes", "flash_bytes",
)  # fmt: skip

Cell = str | int | float | None


@dataclass(frozen=True)
class Figure:
    ident: str
    caption: str
    png: str | None  # base64


def table_rows(data: ReportData) -> list[dict[str, Cell]]:
    """One flat row per case of the newest run: the HTML table, CSV and JSON."""
    rows: list[dict[str, Cell]] = []
    for c in data.latest:
        r = c.record
        counter = plots.counter_median(r)
        energy = plots.energy_uj(r)
        rows.append(
            {
                "run": c.run_id,
                "board": r.where,
                "model": r.label,
                "status": r.status,
                "counter_kind": counter[1] if counter else None,
                "counter_median": counter[0] if counter else None,
                "energy_uj": energy[0] if energy else None,
                "energy_kind": None if energy is None else "modeled" if energy[1] else "measured",
                "energy_label": r.energy.label if r.energy else r.energy_unavailable,
                "macs": r.macs,
                "arena_bytes": r.arena_used_bytes,
                "flash_bytes": r.footprint.flash if r.footprint else None,
            }
        )
    return rows


def _num(value: object) -> str:
    if value is None:
        return "\u2013"  # an en dash
    if isinstance(value, float):
        return f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hil.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    return env


def _figure(png: bytes | None, caption: str, ident: str) -> Figure:
    return Figure(ident, caption, None if png is None else base64.b64encode(png).decode())


def _energy_notes(records: Sequence[CaseRecord]) -> dict[str, tuple[str, str]]:
    """Each distinct energy method once, verbatim: what every figure rests on."""
    return {r.energy.label: (r.energy.method, r.energy.source) for r in records if r.energy}


def _run_times(cases: Sequence[RunCase], runs: Sequence[str]) -> list[dict[str, str | None]]:
    first: dict[str, str | None] = {}
    for c in cases:
        first.setdefault(c.run_id, c.time)
    return [{"run_id": r, "time": first.get(r)} for r in runs]


def render(data: ReportData, traces: list[tuple[str, Trace]] | None = None) -> str:
    rows = table_rows(data)
    records = data.records
    figures = [
        _figure(plots.energy_per_model(records), "Energy per inference, model x board", "energy"),
        _figure(
            plots.counters_per_model(records), "Counters per inference, model x board", "counters"
        ),
        _figure(plots.energy_vs_macs(records), "Energy per inference against MACs", "energy-macs"),
        _figure(plots.trends(data.cases, data.runs), "Counters over the stored runs", "trends"),
    ]
    for i, (name, trace) in enumerate(traces or []):
        figures.append(
            _figure(plots.current_trace(trace, name), f"Current trace: {name}", f"trace-{i}")
        )
    counters = [float(v) for r in rows if isinstance(v := r["counter_median"], int | float)]
    spread = plots.needs_log(counters)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            rows=rows,
            records=records,
            passed=sum(r["status"] == "pass" for r in rows),
            sources=data.sources,
            spread=max(counters) / min(counters) if spread else None,
            smallest=min(counters) if spread else None,
            profiled=[r for r in records if r.profile is not None and r.profile.ops],
            energy_notes=_energy_notes(records),
            figures=figures,
            runs=_run_times(data.cases, data.runs),
        )
    )


def write_exports(
    rows: list[dict[str, Cell]], csv_path: Path | None, json_path: Path | None
) -> None:
    if csv_path is not None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*COLUMNS, "energy_label"])
        writer.writeheader()
        writer.writerows(rows)
        csv_path.write_text(buf.getvalue())
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=2, default=str) + "\n")


def write_html_report(
    path: Path, results: Sequence[CaseRecord], store: Path | str | None = None
) -> Path:
    """The report of a pytest session: its cases, and with a results store
    every stored run too (for the trends)."""
    from hil.reports.sources import load_sources
    from hil.results.engines import is_postgres

    if store is not None and (is_postgres(store) or Path(store).is_file()):
        data = load_sources([store])
    else:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        data = ReportData(["this pytest session"], [RunCase(now, now, r) for r in results])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data))
    return path

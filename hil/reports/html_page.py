"""The self-contained HTML report (`hil report`, `pytest --hil-html`): plots
inlined as PNG data URIs, inline CSS, no scripts and no external files, so
the page can be mailed or archived as one file. CSV and JSON exports carry
the same table."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from html import escape
from pathlib import Path
from typing import Any

from hil.energy.trace import Trace
from hil.reports import plots
from hil.reports.sources import ReportData, case_label, macs, where

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; } td.l, th.l { text-align: left; }
tr.fail td { background: #fde2e2; }
.modeled { color: #a15c00; font-style: italic; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
"""
COLUMNS = (
    "run", "board", "model", "status", "counter_kind", "counter_median",
    "energy_uj", "energy_kind", "macs", "arena_bytes", "flash_bytes",
)  # fmt: skip


def table_rows(data: ReportData) -> list[dict[str, Any]]:
    """One flat row per case of the newest run: the HTML table, CSV and JSON."""
    rows = []
    for c in data.latest:
        counter = plots.counter_median(c)
        energy = plots.energy_uj(c)
        footprint = c.get("footprint") or {}
        rows.append(
            {
                "run": c["run_id"],
                "board": where(c),
                "model": case_label(c),
                "status": c.get("status"),
                "counter_kind": counter[1] if counter else None,
                "counter_median": counter[0] if counter else None,
                "energy_uj": energy[0] if energy else None,
                "energy_kind": None if energy is None else "modeled" if energy[1] else "measured",
                "energy_label": (c.get("energy") or {}).get("label") or c.get("energy_unavailable"),
                "macs": macs(c),
                "arena_bytes": c.get("arena_used_bytes"),
                "flash_bytes": (footprint.get("flash") or {}).get("value"),
            }
        )
    return rows


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "&ndash;"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _figure(png: bytes | None, caption: str, ident: str) -> str:
    if png is None:
        return f'<p id="{ident}" class="none">{escape(caption)}: no data.</p>'
    data = base64.b64encode(png).decode()
    return (
        f'<figure id="{ident}"><img class="plot" alt="{escape(caption)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{escape(caption)}</figcaption></figure>'
    )


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        '<tr><th class="l">board</th><th class="l">model</th><th class="l">status</th>'
        "<th>counter (median / inference)</th><th>energy (µJ / inference)</th>"
        "<th>MACs</th><th>arena B</th><th>flash B</th></tr>"
    )
    body = []
    for r in rows:
        cls = "" if r["status"] == "pass" else ' class="fail"'
        if r["energy_uj"] is None:
            energy = f'<span title="{escape(str(r["energy_label"] or ""))}">&ndash;</span>'
        elif r["energy_kind"] == "modeled":
            energy = (
                f'<span class="modeled" title="{escape(str(r["energy_label"]))}">'
                f"{r['energy_uj']:.3f} (modeled)</span>"
            )
        else:
            energy = f"{r['energy_uj']:.3f} (measured)"
        counter = (
            f"{_num(r['counter_median'])} {escape(str(r['counter_kind']))}"
            if r["counter_median"] is not None
            else "&ndash;"
        )
        body.append(
            f"<tr{cls}><td class='l'>{escape(r['board'])}</td><td class='l'>"
            f"{escape(r['model'])}</td><td class='l'>{escape(str(r['status']))}</td>"
            f"<td>{counter}</td><td>{energy}</td><td>{_num(r['macs'])}</td>"
            f"<td>{_num(r['arena_bytes'])}</td><td>{_num(r['flash_bytes'])}</td></tr>"
        )
    return f'<table id="cases">{head}{"".join(body)}</table>'


def _energy_notes(data: ReportData) -> str:
    """Each distinct energy method once, verbatim: what every figure rests on."""
    notes = {}
    for c in data.latest:
        e = c.get("energy") or {}
        if e:
            notes[e.get("label", "")] = (e.get("method", ""), e.get("source", ""))
    if not notes:
        return ""
    items = "".join(
        f"<li><b>{escape(label)}</b>: {escape(method)}"
        + (f"<br>source: {escape(source)}" if source else "")
        + "</li>"
        for label, (method, source) in notes.items()
    )
    return f'<h2>How energy was obtained</h2><ul id="energy-methods">{items}</ul>'


def render(data: ReportData, traces: list[tuple[str, Trace]] | None = None) -> str:
    rows = table_rows(data)
    latest = data.latest
    sections = [
        _figure(plots.energy_per_model(latest), "Energy per inference, model x board", "energy"),
        _figure(
            plots.counters_per_model(latest), "Counters per inference, model x board", "counters"
        ),
        _figure(plots.energy_vs_macs(latest), "Energy per inference against MACs", "energy-macs"),
        _figure(plots.trends(data.cases, data.runs), "Counters over the stored runs", "trends"),
    ]
    for i, (name, trace) in enumerate(traces or []):
        sections.append(
            _figure(plots.current_trace(trace, name), f"Current trace: {name}", f"trace-{i}")
        )
    runs = "".join(f"<li>{i + 1}: {escape(r)}</li>" for i, r in enumerate(data.runs))
    passed = sum(r["status"] == "pass" for r in rows)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>hil report</title><style>{CSS}</style></head><body>"
        "<h1>hil report</h1>"
        f"<p id='summary'>{passed} of {len(rows)} cases passed in the newest run; "
        f"sources: {escape(', '.join(data.sources))}.</p>"
        f"<h2>Newest run</h2>{_table(rows)}"
        f"{_energy_notes(data)}<h2>Plots</h2>{''.join(sections)}"
        f"<h2>Runs</h2><ol id='runs'>{runs}</ol></body></html>\n"
    )


def write_exports(
    rows: list[dict[str, Any]], csv_path: Path | None, json_path: Path | None
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
    path: Path, results: list[dict[str, Any]], store: Path | str | None = None
) -> Path:
    """The report of a pytest session: its cases, and with a results store
    every stored run too (for the trends)."""
    from hil.reports.sources import load_sources
    from hil.results.engines import is_postgres

    if store is not None and (is_postgres(store) or Path(store).is_file()):
        data = load_sources([store])
    else:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        data = ReportData(
            ["this pytest session"], [{**r, "run_id": now, "time": now} for r in results]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data))
    return path

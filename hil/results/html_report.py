"""The nightly report: one self-contained HTML page (no scripts, no external
files), one table per instance, regressions highlighted."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from hil.results.regressions import Comparison, Finding

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.regression td { background: #fdd; }
.status-pass { color: #070; }
.status-fail { color: #b00; font-weight: bold; }
.summary-bad { color: #b00; } .summary-ok { color: #070; }
"""


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "&ndash;"
    number = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return escape(number + unit)


def _delta(f: Finding) -> str:
    if f.counter_delta_pct is None:
        return "&ndash;"
    return escape(f"{f.counter_delta_pct:+.2f}%")


def _byte_delta(f: Finding, column: str) -> str:
    now = f.current.get(column)
    then = (f.baseline or {}).get(column)
    text = _num(now, " B")
    if now is not None and then is not None and now != then:
        text += escape(f" ({now - then:+,})")
    return text


def _row(f: Finding) -> str:
    cur = f.current
    status = str(cur.get("status"))
    cls = "status-pass" if status == "pass" else "status-fail"
    counter = (
        f"{_num(cur.get('counter_median'))} {escape(str(cur.get('counter_kind')))}"
        if cur.get("counter_median") is not None
        else "&ndash;"
    )
    remarks = "<br>".join(escape(x) for x in [*f.regressions, *f.notes]) or ""
    return (
        f'<tr class="{"regression" if f.regressed else "ok"}">'
        f"<td>{escape(f.model)}</td>"
        f'<td class="{cls}">{escape(status)}</td>'
        f'<td class="num">{counter}</td>'
        f'<td class="num">{_delta(f)}</td>'
        f'<td class="num">{_byte_delta(f, "arena_bytes")}</td>'
        f'<td class="num">{_byte_delta(f, "flash_bytes")}</td>'
        f'<td class="num">{_byte_delta(f, "stack_bytes")}</td>'
        f'<td class="num">{_num(cur.get("energy_uj"), " µJ")}</td>'
        f"<td>{remarks}</td></tr>"
    )


def _thresholds(comparison: Comparison) -> str:
    if comparison.counter_pct is not None:
        return f"counter threshold {comparison.counter_pct:g}% on every board"
    limits = sorted(
        {(f.thresholds.counter_pct, f.thresholds.energy_pct) for f in comparison.findings}
    )
    return "thresholds (counter, energy): " + ", ".join(f"{c:g}%, {e:g}%" for c, e in limits)


def render_html(comparison: Comparison, run: dict[str, Any] | None = None) -> str:
    by_instance: dict[str, list[Finding]] = defaultdict(list)
    for f in comparison.findings:
        by_instance[f.instance].append(f)
    bad = len(comparison.regressions)
    run = run or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hil nightly {escape(comparison.run_id)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>hil nightly: run {escape(comparison.run_id)}</h1>",
        "<p>",
        f"started {escape(str(run.get('started', '?')))}, "
        f"git {escape(str(run.get('git_revision') or 'unknown'))}, "
        f"host {escape(str(run.get('host') or '?'))}; baseline: "
        f"{escape(comparison.baseline)}; {escape(_thresholds(comparison))}",
        "</p>",
        f'<p class="{"summary-bad" if bad else "summary-ok"}">'
        f"{bad} regression{'s' if bad != 1 else ''} in {len(comparison.findings)} cases</p>",
    ]
    for instance in sorted(by_instance):
        findings = by_instance[instance]
        board = findings[0].current.get("board", "")
        backend = findings[0].current.get("backend", "")
        what = escape(f"{board}, {backend}")
        parts.append(f"<h2>{escape(instance)} <small>({what})</small></h2>")
        parts.append(
            "<table><thead><tr><th>model</th><th>status</th><th>counter (median)</th>"
            "<th>&Delta; vs baseline</th><th>arena</th><th>flash</th><th>stack</th>"
            "<th>energy</th><th>remarks</th>"
            "</tr></thead><tbody>"
        )
        parts.extend(_row(f) for f in findings)
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

"""The variants report as a standalone HTML page: the table and an
accuracy-vs-cost plot, a point per variant (inline SVG, matplotlib)."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from hil.accuracy.variants import COLUMNS, cell


def accuracy_cost_svg(rows: list[dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind = rows[0].get("counter_kind")
    use_counter = all(r.get("counter_median") for r in rows)
    xs = [r["counter_median"] if use_counter else r["file_bytes"] for r in rows]
    xlabel = f"{kind} per inference (median)" if use_counter else "model file bytes"
    ys = [100 * r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.scatter(xs, ys, s=[max(20.0, (r.get("arena_bytes") or 0) / 40) for r in rows])
    for x, y, r in zip(xs, ys, rows, strict=True):
        ax.annotate(r["variant"], (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"accuracy on the device ({rows[0]['accuracy_metric']}, %)")
    ax.set_title("accuracy vs cost (point area: arena bytes)")
    ax.grid(True, alpha=0.3)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def write_variants_html(path: Path, report: dict[str, Any]) -> None:
    rows = report["variants"]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(r, k))}</td>" for k, _ in COLUMNS) + "</tr>"
        for r in rows
    )
    gates = "".join(
        f"<li class='{'pass' if g['ok'] else 'fail'}'>{'pass' if g['ok'] else 'FAIL'}: "
        f"{html.escape(g['variant'])} {html.escape(g['gate'])} {html.escape(g['figure'])} "
        f"(budget {html.escape(g['budget'])})</li>"
        for g in report["gates"]
    )
    title = f"hil variants on {report['board']} ({report['backend']})"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        ".fail{color:#b00}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>dataset {html.escape(str(report['dataset']))}; "
        f"baseline {html.escape(rows[0]['variant'])}</p>"
        f"<table id='variants'><tr>{head}</tr>{body}</table>"
        f"<h2>budgets</h2><ul id='gates'>{gates or '<li>none set</li>'}</ul>"
        f"<h2>accuracy vs cost</h2><div id='accuracy-cost-plot'>{accuracy_cost_svg(rows)}</div>"
        "</body></html>\n"
    )

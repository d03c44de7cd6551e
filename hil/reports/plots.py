"""The report's figures, drawn with matplotlib (Agg) into PNG bytes. Modeled
energy is always drawn hatched and hollow, and its legend says "modeled", so a
reader can never take it for a measurement. Where the values of one figure
span more than LOG_SPREAD (models of very different sizes), its value axis is
logarithmic, and says so."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from hil.case.record import CaseRecord
from hil.energy.trace import Trace
from hil.energy.windows import find_windows
from hil.reports.sources import RunCase

MEASURED, MODELED = "#1f6fb2", "#d9822b"
LOG_SPREAD = 100.0  # largest / smallest value past which an axis is logarithmic


def needs_log(values: Sequence[float]) -> bool:
    """Whether values differ by more than LOG_SPREAD (all must be positive)."""
    positive = [v for v in values if v > 0]
    return len(positive) > 1 and len(positive) == len(values) and (
        max(positive) / min(positive) > LOG_SPREAD
    )


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def energy_uj(case: CaseRecord) -> tuple[float, bool] | None:
    """(µJ per inference, modeled) or None."""
    e = case.energy
    return None if e is None else (e.energy_per_inference_j * 1e6, e.modeled)


def counter_median(case: CaseRecord) -> tuple[float, str] | None:
    c = case.counter
    return None if c is None else (c.median, c.kind)


def _grouped_bars(
    cases: Sequence[CaseRecord],
    value: Callable[[CaseRecord], tuple[float, bool] | None],
    ylabel: str,
    title: str,
) -> bytes | None:
    """One group per model, one bar per board; hatched where modeled."""
    points = {(c.label, c.where): v for c in cases if (v := value(c)) is not None}
    if not points:
        return None
    models = sorted({m for m, _ in points})
    boards = sorted({b for _, b in points})
    width = 0.8 / len(boards)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(models) * len(boards)), 3.6))
    for j, board in enumerate(boards):
        for i, model in enumerate(models):
            if (model, board) not in points:
                continue
            height, modeled = points[(model, board)]
            ax.bar(
                i + (j - (len(boards) - 1) / 2) * width,
                height,
                width * 0.9,
                color="white" if modeled else MEASURED,
                edgecolor=MODELED if modeled else MEASURED,
                hatch="//" if modeled else None,
            )
            ax.annotate(
                f"{board}{' (modeled)' if modeled else ''}",
                (i + (j - (len(boards) - 1) / 2) * width, height),
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
            )
    ax.set_xticks(range(len(models)), models, rotation=20, ha="right", fontsize=8)
    if needs_log([h for h, _ in points.values()]):
        ax.set_yscale("log")
        ylabel += " (log scale)"
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.margins(y=0.35)
    return _png(fig)


def energy_per_model(cases: Sequence[CaseRecord]) -> bytes | None:
    return _grouped_bars(
        cases,
        energy_uj,
        "µJ per inference",
        "Energy per inference (hatched: modeled from counters, not measured)",
    )


def counters_per_model(cases: Sequence[CaseRecord]) -> bytes | None:
    kinds = {k for c in cases if (m := counter_median(c)) for k in [m[1]]}
    label = "/".join(sorted(kinds)) or "counter"

    def value(c: CaseRecord) -> tuple[float, bool] | None:
        m = counter_median(c)
        return None if m is None else (m[0] / 1e6, False)

    return _grouped_bars(cases, value, f"M {label} per inference", f"{label} per inference")


def energy_vs_macs(cases: Sequence[CaseRecord]) -> bytes | None:
    points = []
    for c in cases:
        e, n = energy_uj(c), c.macs
        if e is not None and n:
            points.append((float(n), e[0], e[1], f"{c.label} @ {c.where}"))
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for modeled in (False, True):
        sel = [p for p in points if p[2] == modeled]
        if sel:
            ax.scatter(
                [p[0] for p in sel],
                [p[1] for p in sel],
                facecolors="none" if modeled else MEASURED,
                edgecolors=MODELED if modeled else MEASURED,
                label="modeled" if modeled else "measured",
            )
    for x, uj, _, name in points:
        ax.annotate(name, (x, uj), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per inference")
    ax.set_ylabel("µJ per inference")
    ax.set_title("Energy vs MACs")
    ax.legend(fontsize=8)
    return _png(fig)


def trends(cases: Sequence[RunCase], runs: Sequence[str]) -> bytes | None:
    """Counter median per run for every (model, board) seen in two runs or more."""
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    index = {r: i for i, r in enumerate(runs)}
    for c in cases:
        m = counter_median(c.record)
        if m is not None:
            key = (c.record.label, c.record.where)
            series.setdefault(key, []).append((index[c.run_id], m[0]))
    series = {k: v for k, v in series.items() if len({i for i, _ in v}) > 1}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for (model, board), pts in sorted(series.items()):
        pts.sort()
        ax.plot(
            [i for i, _ in pts], [v / 1e6 for _, v in pts], marker="o", label=f"{model} @ {board}"
        )
    ax.set_xticks(range(len(runs)), [str(i + 1) for i in range(len(runs))])
    ax.set_xlabel("run (oldest first; the table below names them)")
    ylabel = "M per inference (median)"
    if needs_log([v for pts in series.values() for _, v in pts]):
        ax.set_yscale("log")
        ylabel += " (log scale)"
    ax.set_ylabel(ylabel)
    ax.set_title("Counters over the stored runs")
    ax.legend(fontsize=7)
    return _png(fig)


def current_trace(trace: Trace, title: str) -> bytes:
    """Current against the meter's own time base, inference windows shaded."""
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    ms = trace.period_s * 1e3  # per tick of the meter's sample clock
    ax.plot(trace.index * ms, trace.current_a * 1e3, linewidth=0.6, color=MEASURED)
    windows = find_windows(trace)
    for w in windows.windows:
        ax.axvspan(w.start * ms, w.end * ms, color=MODELED, alpha=0.25)
    ax.set_xlabel("time (ms, meter sample clock)")
    ax.set_ylabel("current (mA)")
    ax.set_title(f"{title}: {len(windows)} inference windows (shaded, from the marker)")
    return _png(fig)

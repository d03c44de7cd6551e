"""Judge a run's rows against a baseline: what got slower, bigger, hungrier
or wrong. Shared by `pytest --hil-baseline` (one row as each case finishes) and
`hil results regressions|report` (a whole run).

A row's baseline has the same key: backend, engine (hil's, TFLM's reference
kernels or CMSIS-NN; an engine's version may change), transport (memory or
serial; rows stored before the choice were serial), firmware variant, model (its
sha256, else its name) and vector set (seed, count, input files); from the
same instance, else (no history there) from another instance of the same
board type. `last-green` takes the latest earlier row of that key whose case
passed; a run id takes that run's row. A regression is a new output mismatch
or failure, a counter of the same kind or the energy per inference up by more
than the board's threshold (docs/boards.md, [regression]), or any increase of
arena, flash or stack."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hil.boards.board import load_board
from hil.boards.regression import RegressionThresholds
from hil.errors import HilError
from hil.measurements.counters import Measurement, comparable

LAST_GREEN = "last-green"
GREEN = ("pass", "flaky")  # the case passed (flaky: on a retry)
Row = dict[str, Any]
ThresholdsFor = Callable[[str], RegressionThresholds]


def case_key(row: Row) -> tuple[Any, ...]:
    """What must match for two rows to be compared (the instance aside)."""
    return (
        row.get("backend"),
        engine_kind(row.get("engine"), row.get("engine_version")),
        transport_kind(row.get("transport_used")),
        row.get("firmware_variant") or "",
        row.get("model_sha256") or row.get("model_name"),
        row.get("vector_seed"),
        row.get("vector_count"),
        json.dumps(row.get("vector_files") or []),
    )


def engine_kind(engine: Any, version: Any = None) -> str:
    """The engine a row ran on, without its version: "hil", or TFLM and its
    kernel library, and " ops=model" for an image registering only the
    model's operators (its flash is another figure); rows stored before
    engines had a choice were hil's."""
    words = f"{engine or 'hil'} {version or ''}".split()
    if words[0] != "tflm":
        return words[0]
    kind = "tflm-cmsis-nn" if "cmsis-nn" in words[1:] else "tflm"
    return f"{kind} ops=model" if "ops=model" in words[1:] else kind


def transport_kind(transport: Any) -> str:
    """The transport a row ran over (rows stored before hil had a choice: serial)."""
    return str(transport or "serial")


@cache
def board_thresholds(board: str) -> RegressionThresholds:
    """The board file's [regression] thresholds; the defaults if the board
    file is gone (a store outlives board files)."""
    try:
        return load_board(board).regression
    except HilError:
        return RegressionThresholds()


@dataclass
class Finding:
    """One case of the judged run against its baseline."""

    instance: str
    model: str
    current: Row
    baseline: Row | None
    thresholds: RegressionThresholds = field(default_factory=RegressionThresholds)
    regressions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counter_delta_pct: float | None = None

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_dict(self) -> dict[str, Any]:
        cur, base = self.current, self.baseline or {}
        out: dict[str, Any] = {
            "instance": self.instance,
            "model": self.model,
            "board": cur.get("board"),
            "status": cur.get("status"),
            "baseline_run": base.get("run_id"),
            "baseline_instance": base.get("instance"),
            "baseline_status": base.get("status"),
            "counter_kind": cur.get("counter_kind"),
            "baseline_counter_kind": base.get("counter_kind"),
            "counter_delta_pct": self.counter_delta_pct,
            "counter_threshold_pct": self.thresholds.counter_pct,
            "energy_threshold_pct": self.thresholds.energy_pct,
        }
        for column in FIGURES:
            out[column] = cur.get(column)
            out[f"baseline_{column}"] = base.get(column)
        out.update(regressed=self.regressed, regressions=self.regressions, notes=self.notes)
        return out


FIGURES = ("counter_median", "arena_bytes", "flash_bytes", "stack_bytes", "energy_uj")


@dataclass
class Comparison:
    run_id: str
    baseline: str  # "last-green", or what names the baseline run
    findings: list[Finding]
    counter_pct: float | None = None  # one threshold for every board, if forced

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.regressed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "baseline": self.baseline,
            "counter_threshold_pct": self.counter_pct,
            "regressions": len(self.regressions),
            "findings": [f.to_dict() for f in self.findings],
        }


# -- choosing the baseline -----------------------------------------------------


def resolve_baseline(
    spec: str, runs: Sequence[Row], named: Sequence[Row]
) -> tuple[str | None, str]:
    """`last-green`, a baseline name (`hil baseline set`) or a run id ->
    (the baseline run, None for last-green; a label saying which)."""
    if spec == LAST_GREEN:
        return None, LAST_GREEN
    for b in named:
        if b["name"] == spec:
            return str(b["run_id"]), f"baseline {spec} (run {b['run_id']})"
    if any(r["run_id"] == spec for r in runs):
        return spec, f"run {spec}"
    names = ", ".join(b["name"] for b in named) or "none"
    recent = ", ".join(r["run_id"] for r in runs[-3:]) or "none"
    raise HilError(
        f"no baseline or run named {spec!r} (named baselines: {names}; latest runs: {recent}; "
        f"or {LAST_GREEN})"
    )


def pick_baseline(
    cur: Row, earlier: Sequence[Row], baseline_run: str | None
) -> tuple[Row | None, str]:
    """The baseline row for `cur` among `earlier` (oldest first), and a note
    when it comes from another instance of the board type."""
    if baseline_run is None:
        pool = [r for r in earlier if r["status"] in GREEN]
    else:
        pool = [r for r in earlier if r["run_id"] == baseline_run]
    key = case_key(cur)
    same = [r for r in pool if r["run_id"] != cur["run_id"] and case_key(r) == key]
    mine = [r for r in same if r["instance"] == cur["instance"]]
    if mine:
        return mine[-1], ""
    board = [r for r in same if r["board"] == cur["board"]]
    if board:
        base = board[-1]
        return base, (
            f"baseline from instance {base['instance']} (same board type; "
            f"none yet on {cur['instance']})"
        )
    return None, ""


def compare_rows(
    rows: Sequence[Row],
    baseline: str | None = None,
    run_id: str | None = None,
    counter_pct: float | None = None,
    label: str = "",
    thresholds: ThresholdsFor = board_thresholds,
) -> Comparison:
    """`rows` oldest first (ResultStore.rows()). Judges run `run_id` (default:
    the newest) against `baseline`: a run id, or None for last-green among the
    runs before it. `counter_pct` forces one counter threshold on every board."""
    order = list(dict.fromkeys(r["run_id"] for r in rows))
    if not order:
        raise HilError("the results store has no rows yet")
    run_id = run_id or order[-1]
    if run_id not in order:
        raise HilError(f"no run {run_id!r} in the store (latest: {', '.join(order[-5:])})")
    if baseline == run_id:
        raise HilError(f"run {run_id} cannot be its own baseline")
    if baseline is not None and baseline not in order:
        raise HilError(f"baseline run {baseline!r} has no rows in the store")
    earlier_runs = set(order[: order.index(run_id)])
    pool = [r for r in rows if r["run_id"] in earlier_runs or r["run_id"] == baseline]
    current: dict[tuple[Any, ...], Row] = {}
    for row in rows:  # the last row of a key in the run wins
        if row["run_id"] == run_id:
            key = (row["instance"], row["model_name"], *case_key(row))
            current[key] = row
    findings = []
    for key in sorted(current, key=lambda k: tuple(map(str, k))):
        cur = current[key]
        base, note = pick_baseline(cur, pool, baseline)
        limits = thresholds(cur["board"])
        if counter_pct is not None:
            limits = RegressionThresholds(counter_pct, limits.energy_pct)
        findings.append(judge(cur, base, limits, note))
    return Comparison(run_id, label or baseline or LAST_GREEN, findings, counter_pct)


# -- judging one row -------------------------------------------------------------


def judge(cur: Row, base: Row | None, thresholds: RegressionThresholds, note: str = "") -> Finding:
    f = Finding(cur["instance"], cur["model_name"], cur, base, thresholds)
    if note:
        f.notes.append(note)
    _status(f, cur, base)
    if base is None:
        f.notes.append("no baseline to compare with")
        return f
    if (cur.get("firmware_cflags") or "") != (base.get("firmware_cflags") or ""):
        f.notes.append(
            f"firmware built with extra flags {cur.get('firmware_cflags') or 'none'!r} "
            f"(baseline: {base.get('firmware_cflags') or 'none'!r})"
        )
    _agreement(f, cur, base)
    if (
        cur["status"] == "mismatch"
        and base["status"] in GREEN
        and not any(r.startswith("new output mismatch") for r in f.regressions)
    ):
        f.regressions.append("new output mismatch")
    _counter(f, cur, base)
    _energy(f, cur, base)
    for column, label in (
        ("arena_bytes", "arena"),
        ("flash_bytes", "flash"),
        ("stack_bytes", "stack"),
    ):
        now, then = cur.get(column), base.get(column)
        if now is not None and then is not None and now > then:
            f.regressions.append(f"{label} {then:,} -> {now:,} B (+{now - then:,} B)")
    return f


def _status(f: Finding, cur: Row, base: Row | None) -> None:
    status = cur["status"]
    if status == "flaky":
        f.notes.append(f"flaky: passed on attempt {cur.get('attempts') or '?'}")
    if status in GREEN:
        return
    if base is not None and base["status"] not in GREEN:
        f.notes.append(f"{status}, as in the baseline ({base['status']})")
        return
    if status == "mismatch":
        if base is None:  # with a baseline, _agreement says which reference
            agreement = cur.get("agreement") or {}
            detail = ", ".join(
                f"{ref} {a.get('matched')}/{a.get('total')} vectors agree"
                for ref, a in agreement.items()
                if a.get("matched") != a.get("total")
            )
            f.regressions.append("new output mismatch" + (f": {detail}" if detail else ""))
        return
    detail = f": {cur['error']}" if cur.get("error") else ""
    f.regressions.append(f"new failure: {status}{detail}"[:300])


def _agreement(f: Finding, cur: Row, base: Row) -> None:
    now, then = cur.get("agreement") or {}, base.get("agreement") or {}
    for ref, was in then.items():
        got = now.get(ref)
        if (
            was.get("matched") == was.get("total")
            and got
            and got.get("matched") != got.get("total")
        ):
            f.regressions.append(
                f"new output mismatch: {ref} {got['matched']}/{got['total']} vectors agree "
                f"(baseline {was['matched']}/{was['total']})"
            )


def _pct(now: float, then: float) -> float:
    return (now - then) / then * 100.0


def _counter(f: Finding, cur: Row, base: Row) -> None:
    if cur.get("counter_median") is None or base.get("counter_median") is None:
        return
    now, then = float(cur["counter_median"]), float(base["counter_median"])
    kind, base_kind = str(cur["counter_kind"]), str(base["counter_kind"])
    if not comparable(
        Measurement(kind, 0, cur.get("counter_method") or ""),
        Measurement(base_kind, 0, base.get("counter_method") or ""),
    ):
        f.notes.append(
            f"counters not compared: {kind} now, {base_kind} in the baseline "
            "(different kinds are never compared)"
        )
        return
    if then <= 0:
        return
    delta = f.counter_delta_pct = _pct(now, then)
    limit = f.thresholds.counter_pct
    if delta > limit:
        f.regressions.append(
            f"{kind} median {then:,.0f} -> {now:,.0f} ({delta:+.2f}%, threshold {limit:g}%)"
        )


def _energy_kind(row: Row) -> str | None:
    energy = (row.get("record") or {}).get("energy") or {}
    return energy.get("kind") if isinstance(energy, dict) else None


def _energy(f: Finding, cur: Row, base: Row) -> None:
    now, then = cur.get("energy_uj"), base.get("energy_uj")
    if now is None or then is None or then <= 0:
        return
    if _energy_kind(cur) != _energy_kind(base):
        f.notes.append(
            f"energy not compared: {_energy_kind(cur)} now, {_energy_kind(base)} in the baseline"
        )
        return
    delta, limit = _pct(float(now), float(then)), f.thresholds.energy_pct
    if delta > limit:
        f.regressions.append(
            f"energy {then:,.4g} -> {now:,.4g} µJ per inference "
            f"({delta:+.2f}%, threshold {limit:g}%)"
        )

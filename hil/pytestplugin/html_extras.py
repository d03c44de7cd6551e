"""hil's figures in pytest-html's report, for teams that already publish it:
four columns in its results table (engine, counter per inference, arena,
agreement) and, per test, a small table of the case's figures and its
per-operator profile. Registered by the plugin only when pytest-html is
loaded (docs/results.md); this module never imports pytest_html at import time."""

from __future__ import annotations

from collections.abc import Generator
from html import escape

import pytest

from hil.case.record import CaseRecord

#: The case record of a test that ran a model case (set by check_model).
CASE_RECORD = pytest.StashKey[CaseRecord]()

PLUGIN_NAME = "hil-html-extras"
# (column key, header); a test without a hil case gets empty cells.
COLUMNS = (
    ("engine", "hil engine"),
    ("counter", "hil counter / inference"),
    ("arena", "hil arena B"),
    ("agreement", "hil agreement"),
)


def register(config: pytest.Config) -> None:
    """Register these hooks when pytest-html is loaded (and only then: its
    hooks are unknown to pytest without it)."""
    if config.pluginmanager.hasplugin("html") and not config.pluginmanager.has_plugin(
        PLUGIN_NAME
    ):
        import hil.pytestplugin.html_extras as me

        config.pluginmanager.register(me, PLUGIN_NAME)


def figures(record: CaseRecord) -> dict[str, str]:
    """The column values of one case, as text."""
    counter = record.counter
    return {
        "engine": record.engine.text or "?",
        "counter": f"{counter.median:,.0f} {counter.kind}" if counter else "",
        "arena": "" if record.arena_used_bytes is None else f"{record.arena_used_bytes:,}",
        "agreement": ", ".join(
            f"{ref} {a.matched}/{a.total}" + (f" ({a.bit_exact} bit-exact)" if a.bit_exact else "")
            for ref, a in record.agreement.items()
        ),
    }


def details(record: CaseRecord) -> str:
    """The per-test extra: the case's figures and its profile, as HTML."""
    rows = [
        ("model", record.label),
        ("board", record.where),
        ("status", record.status),
        ("engine", record.engine.text),
        ("kernel library", record.engine.kernel_library or ""),
        ("TFLM revision", record.engine.tflm_revision or ""),
        ("hil", record.hil_version or ""),
        *((header, figures(record)[key]) for key, header in COLUMNS[1:]),
    ]
    body = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in rows if value
    )
    html = f'<table class="hil-figures">{body}</table>'
    profile = record.profile
    if profile is not None and profile.ops:
        ops = "".join(
            f"<tr><td>{o.index}</td><td>{escape(o.op)}</td><td>{o.value:,}</td>"
            f"<td>{profile.share(o):.1%}</td></tr>"
            for o in profile.ops
        )
        html += (
            f'<table class="hil-profile"><tr><th>#</th><th>operator</th>'
            f"<th>{escape(profile.kind)}</th><th>share</th></tr>{ops}</table>"
        )
    return html


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    record = item.stash.get(CASE_RECORD, None)
    if report.when == "call" and record is not None:
        from pytest_html import extras

        # Plain data on the report, so it crosses from xdist workers too.
        report.hil_figures = figures(record)  # type: ignore[attr-defined]
        report.extras = [  # type: ignore[attr-defined]
            *getattr(report, "extras", []),
            extras.html(details(record)),
        ]
    return report


def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.extend(f'<th class="hil-{key}">{escape(header)}</th>' for key, header in COLUMNS)


def pytest_html_results_table_row(report: pytest.TestReport, cells: list[str]) -> None:
    values = getattr(report, "hil_figures", None) or {}
    cells.extend(
        f'<td class="col-hil-{key}">{escape(str(values.get(key, "")))}</td>' for key, _ in COLUMNS
    )

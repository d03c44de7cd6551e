"""The JSON report: run metadata plus one record per model case."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil import __version__
from hil.case.record import CaseRecord
from hil.config import current, project_revision
from hil.paths import git_revision

SCHEMA = "hil-report/1"


def build_report(cases: Sequence[CaseRecord], targets: list[str]) -> dict[str, Any]:
    statuses = [c.status for c in cases]
    return {
        "schema": SCHEMA,
        "hil_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_revision": git_revision(),  # hil's own, when it runs from a checkout
        # the project hil tests: its root and git commit, beside hil's version
        "project": {
            "root": str(project.root) if (project := current()) else None,
            "git_revision": project_revision(),
        },
        "host": platform.node(),
        "targets": targets,
        "summary": {s: statuses.count(s) for s in sorted(set(statuses))},
        "cases": [c.to_json() for c in cases],
    }


def write_report(path: str | Path, cases: Sequence[CaseRecord], targets: list[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(build_report(cases, targets), indent=2, default=str) + "\n")
    tmp.replace(path)
    return path

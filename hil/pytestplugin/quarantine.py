"""The quarantine file (`--hil-quarantine FILE`): known-bad (board, case) pairs
that still run and are recorded, but whose failure does not fail the build.

    [[quarantine]]
    board = "nucleo-l4r5zi"              # a board type, or:
    # instance = "l4-2"                  # one rack instance
    test = "examples/*::test_device_matches_host[*kws*]"   # test id; * and ? wildcards
    reason = "UART drops bytes at 921600 baud (issue #41)"
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hil.errors import HilError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIELDS = ("board", "instance", "test", "reason")


@cache
def wildcard(pattern: str) -> re.Pattern[str]:
    """`*` any text, `?` one character; everything else literal: test ids are
    full of brackets, which fnmatch would read as character sets."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.S)


class QuarantineFileError(HilError):
    """The quarantine file is missing, unreadable or has a wrong entry."""


@dataclass(frozen=True)
class Quarantined:
    test: str  # the test id (no xdist @group suffix); `*` and `?` are its only wildcards
    reason: str
    board: str = ""
    instance: str = ""

    def matches(self, test_id: str, board: str, instance: str) -> bool:
        if self.board and self.board != board:
            return False
        if self.instance and self.instance != instance:
            return False
        return wildcard(self.test).fullmatch(test_id) is not None

    def describe(self) -> str:
        where = f"instance {self.instance}" if self.instance else f"board {self.board}"
        return f"quarantined on {where}: {self.reason}"


def _entry(item: Any, path: Path, index: int) -> Quarantined:
    where = f"{path}: quarantine[{index}]"
    if not isinstance(item, dict):
        raise QuarantineFileError(f"{where}: expected a table ([[quarantine]])")
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise QuarantineFileError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})"
        )
    for key in FIELDS:
        if key in item and (not isinstance(item[key], str) or not item[key].strip()):
            raise QuarantineFileError(f"{where}: {key}: expected a non-empty string")
    for key in ("test", "reason"):
        if key not in item:
            raise QuarantineFileError(f"{where}: {key}: missing (required)")
    if ("board" in item) == ("instance" in item):
        raise QuarantineFileError(f"{where}: name either a board or an instance (one of them)")
    return Quarantined(
        test=item["test"].strip(),
        reason=item["reason"].strip(),
        board=item.get("board", "").strip(),
        instance=item.get("instance", "").strip(),
    )


def load_quarantine(path: str | Path) -> list[Quarantined]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise QuarantineFileError(f"cannot read quarantine file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise QuarantineFileError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"quarantine"})
    if unknown:
        raise QuarantineFileError(
            f"{path}: unknown field {unknown[0]!r} (the file holds [[quarantine]] tables)"
        )
    raw = data.get("quarantine", [])
    if not isinstance(raw, list):
        raise QuarantineFileError(f"{path}: quarantine: expected [[quarantine]] tables")
    return [_entry(item, path, i) for i, item in enumerate(raw)]


def find(entries: list[Quarantined], test_id: str, board: str, instance: str) -> Quarantined | None:
    """The first entry matching this test on this board or instance."""
    return next((q for q in entries if q.matches(test_id, board, instance)), None)

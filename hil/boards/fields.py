"""Typed reading of a board file's TOML tables, shared by the board file's
sections (board, memory, energy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.errors import BoardFileError


class TomlTable:
    """Typed access to one TOML table that names the file and key in every error."""

    def __init__(self, data: dict[str, Any], path: Path, prefix: str = "") -> None:
        self.data = data
        self.path = path
        self.prefix = prefix

    def _fail(self, key: str, problem: str) -> BoardFileError:
        return BoardFileError(f"{self.path}: {self.prefix}{key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self._fail(key, "missing (required)")
            return default
        value = self.data[key]
        # bool is an int in Python; a board file's `true` is never a number.
        if (isinstance(value, bool) and kind in (int, (int,))) or not isinstance(value, kind):
            kinds = (kind,) if isinstance(kind, type) else kind
            expected = "/".join(k.__name__ for k in kinds)
            raise self._fail(key, f"expected {expected}, got {type(value).__name__} {value!r}")
        return value

    def str_list(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if not all(isinstance(v, str) for v in value):
            raise self._fail(key, "expected a list of strings")
        return tuple(value)

    def table(self, key: str, default: Any = ...) -> TomlTable:
        return TomlTable(self.get(key, dict, default), self.path, f"{self.prefix}{key}.")

"""Lazy imports of the optional instrument packages (the `energy` extra), so
hil installs and imports without them and a missing one is named plainly."""

from __future__ import annotations

import importlib
from types import ModuleType

from hil.energy.errors import MissingPackageError


def require(module: str, package: str, purpose: str) -> ModuleType:
    """Import `module`, or say which pip package provides it and why it is needed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackageError(
            f"{purpose} needs the Python package {package!r} (module {module!r}), which is "
            f"not installed: pip install {package}  (or pip install 'hil[energy]')"
        ) from exc

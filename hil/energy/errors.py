"""Errors of energy measurement; each says what to check or install."""

from __future__ import annotations

from hil.errors import HilError


class EnergyError(HilError):
    """A capture or its analysis cannot give a trustworthy energy figure."""


class MeterNotFoundError(EnergyError):
    """The instrument asked for is not attached (or not answering); the
    message names what was looked for and what was seen."""


class MissingPackageError(EnergyError):
    """An optional third-party package a driver needs is not installed."""

"""Figures that leave the device, each with its unit and provenance."""

from hil.measurements.counters import Measurement, interpret_counter

__all__ = ["Measurement", "interpret_counter"]

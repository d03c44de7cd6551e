"""Energy per inference, measured with a meter on the marker windows the
firmware drives, or modeled from counters and a board's cited datasheet
figures (always labelled modeled). docs/energy.md describes the method.

Drivers (import their modules directly; their optional packages load lazily):
hil.energy.joulescope, .ppk2, .lpm01a, .otii, .replay; modeled energy is
hil.energy.modeled."""

from hil.energy.errors import EnergyError, MeterNotFoundError, MissingPackageError
from hil.energy.figure import EnergyFigure
from hil.energy.integrate import EnergySummary, integrate, mlperf_inferences, mlperf_median
from hil.energy.measure import capture, figure_from_trace, measure
from hil.energy.meter import Meter
from hil.energy.trace import MeterIdentity, Trace, make_trace
from hil.energy.windows import Window, Windows, find_windows

__all__ = [
    "EnergyError",
    "EnergyFigure",
    "EnergySummary",
    "Meter",
    "MeterIdentity",
    "MeterNotFoundError",
    "MissingPackageError",
    "Trace",
    "Window",
    "Windows",
    "capture",
    "figure_from_trace",
    "find_windows",
    "integrate",
    "make_trace",
    "measure",
    "mlperf_inferences",
    "mlperf_median",
]

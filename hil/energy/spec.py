"""Which meter to use, as a rack file or a command line names it: a driver
and its settings. The same spec comes as a TOML table in a rack file
(`power_meter = { driver = "ppk2", serial = "C1234567", source_mv = 3300 }`)
or as one string on the command line (`--hil-meter ppk2:serial=C1234567,source_mv=3300`
under pytest, `hil run --meter ...`).

Settings are checked against the driver's constructor when the spec is
read, so a typo in a rack file fails the run before any board is touched."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.energy.errors import EnergyError
from hil.energy.meter import Meter


def _ppk2(**kw: Any) -> Meter:
    from hil.energy.ppk2 import Ppk2Meter

    return Ppk2Meter(**kw)


def _lpm01a(**kw: Any) -> Meter:
    from hil.energy.lpm01a import Lpm01aMeter

    if "event_edges" in kw:
        kw["event_edges"] = tuple(kw["event_edges"].split("+"))
    return Lpm01aMeter(**kw)


def _joulescope(**kw: Any) -> Meter:
    from hil.energy.joulescope import JoulescopeMeter

    return JoulescopeMeter(**kw)


def _otii(**kw: Any) -> Meter:
    from hil.energy.otii import OtiiMeter

    return OtiiMeter(**kw)


def _replay(**kw: Any) -> Meter:
    from hil.energy.replay import ReplayMeter

    return ReplayMeter(**kw)


@dataclass(frozen=True)
class Driver:
    make: Callable[..., Meter]
    settings: Mapping[str, type]  # name -> type of every setting the driver takes
    required: tuple[str, ...] = ()
    # Spec names that differ from the constructor's keyword.
    renamed: Mapping[str, str] = field(default_factory=dict)


DRIVERS: dict[str, Driver] = {
    "ppk2": Driver(
        _ppk2,
        {
            "serial": str,
            "port": str,
            "source_mv": int,
            "supply_v": float,
            "marker_channel": int,
            "drain_s": float,
        },
        renamed={"serial": "serial_number"},
    ),
    "lpm01a": Driver(
        _lpm01a,
        {"serial": str, "port": str, "supply_mv": int, "sample_rate_hz": int, "event_edges": str},
        renamed={"serial": "serial_number"},
    ),
    "joulescope": Driver(
        _joulescope,
        {"serial": str, "sample_rate_hz": int, "marker_input": str, "buffer_duration_s": int},
        required=("serial",),
    ),
    "otii": Driver(
        _otii,
        {"device": str, "host": str, "port": int, "marker_input": str},
        required=("device",),
    ),
    "replay": Driver(
        _replay, {"path": str, "marker_mask": int, "marker_signal": str}, required=("path",)
    ),
}


@dataclass(frozen=True)
class MeterSpec:
    driver: str
    settings: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        return self.driver + "".join(
            (":" if i == 0 else ",") + f"{k}={v}" for i, (k, v) in enumerate(self.settings)
        )

    def create(self) -> Meter:
        """The driver's meter, not yet opened (use it as a context manager)."""
        driver = DRIVERS[self.driver]
        kwargs = {driver.renamed.get(k, k): v for k, v in self.settings}
        return driver.make(**kwargs)


def _convert(driver: str, key: str, value: Any, kind: type) -> Any:
    if isinstance(value, str) and kind is not str:
        try:
            return kind(value)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise EnergyError(f"meter {driver}: {key}={value!r} is not {what}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise EnergyError(
            f"meter {driver}: {key} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def meter_spec(driver: str, settings: Mapping[str, Any]) -> MeterSpec:
    """A checked spec: a known driver, only its settings, each of its type."""
    if driver not in DRIVERS:
        raise EnergyError(f"unknown meter driver {driver!r} (known: {', '.join(DRIVERS)})")
    known = DRIVERS[driver]
    for key in settings:
        if key not in known.settings:
            raise EnergyError(
                f"meter {driver}: unknown setting {key!r} (known: {', '.join(known.settings)})"
            )
    for key in known.required:
        if key not in settings:
            raise EnergyError(f"meter {driver}: {key} is required")
    checked = tuple(
        (key, _convert(driver, key, value, known.settings[key])) for key, value in settings.items()
    )
    spec = MeterSpec(driver, checked)
    spec.create()  # the driver checks its own argument values (ranges, combinations)
    return spec


def parse_meter_spec(text: str) -> MeterSpec:
    """`DRIVER[:KEY=VALUE,...]`, e.g. `ppk2:serial=C1234567,source_mv=3300`."""
    driver, _, rest = text.strip().partition(":")
    settings: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise EnergyError(f"meter spec {text!r}: expected KEY=VALUE, got {item!r}")
        if key.strip() in settings:
            raise EnergyError(f"meter spec {text!r}: {key.strip()} given twice")
        settings[key.strip()] = value.strip()
    return meter_spec(driver.strip(), settings)


def meter_spec_from_toml(value: Any) -> MeterSpec:
    """A rack file's `power_meter`: a table with `driver`, or the string form."""
    if isinstance(value, str):
        return parse_meter_spec(value)
    if isinstance(value, dict):
        settings = dict(value)
        driver = settings.pop("driver", None)
        if not isinstance(driver, str):
            raise EnergyError(f"needs `driver` (one of {', '.join(DRIVERS)})")
        return meter_spec(driver, settings)
    raise EnergyError(f"expected a table or a string, got {type(value).__name__} {value!r}")

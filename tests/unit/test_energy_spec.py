"""Meter specs as rack files and the command line give them: every driver's
settings checked (names, types, the driver's own ranges) before any
instrument is touched, with errors that name the driver and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.energy import EnergyError
from hil.energy.lpm01a import Lpm01aMeter
from hil.energy.ppk2 import Ppk2Meter
from hil.energy.replay import ReplayMeter
from hil.energy.spec import DRIVERS, meter_spec_from_toml, parse_meter_spec


def test_the_string_form_gives_the_driver_its_settings() -> None:
    spec = parse_meter_spec("ppk2:serial=C1234567, source_mv=3000,marker_channel=3")
    meter = spec.create()
    assert isinstance(meter, Ppk2Meter)
    assert (meter.serial_number, meter.source_mv, meter.marker_channel) == ("C1234567", 3000, 3)
    assert spec.describe() == "ppk2:serial=C1234567,source_mv=3000,marker_channel=3"
    assert parse_meter_spec(spec.describe()) == spec


def test_the_table_form_and_type_conversions() -> None:
    spec = meter_spec_from_toml({"driver": "ppk2", "port": "/dev/ttyACM3", "supply_v": 3})
    meter = spec.create()
    assert isinstance(meter, Ppk2Meter) and meter.supply_v == 3.0 and meter.source_mv is None
    lpm = parse_meter_spec("lpm01a:supply_mv=1800,sample_rate_hz=1000,event_edges=ris").create()
    assert isinstance(lpm, Lpm01aMeter) and lpm.event_edges == ("ris",)
    replay = meter_spec_from_toml("replay:path=trace.csv")
    assert isinstance(replay.create(), ReplayMeter)
    assert replay.create().path == Path("trace.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ppk3:port=x", "unknown meter driver 'ppk3' (known: ppk2, lpm01a, joulescope, otii"),
        ("ppk2:prot=x,source_mv=3300", "meter ppk2: unknown setting 'prot' (known: serial, port"),
        ("ppk2:source_mv=3.3V", "meter ppk2: source_mv='3.3V' is not an integer"),
        ("ppk2:source_mv", "expected KEY=VALUE, got 'source_mv'"),
        ("ppk2:port=a,port=b,source_mv=3300", "port given twice"),
        ("ppk2:port=a", "give exactly one of source_mv (source meter) or supply_v"),
        ("ppk2:source_mv=9000", "PPK2: source_mv 9000 outside"),
        ("lpm01a:sample_rate_hz=100000", "100000 S/s is not an unlimited ascii_dec rate"),
        ("joulescope", "meter joulescope: serial is required"),
        ("otii:host=lab", "meter otii: device is required"),
        ("replay", "meter replay: path is required"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(EnergyError) as err:
        parse_meter_spec(text)
    assert message in str(err.value)


def test_bad_tables() -> None:
    with pytest.raises(EnergyError, match="needs `driver`"):
        meter_spec_from_toml({"port": "x"})
    with pytest.raises(EnergyError, match=r"meter ppk2: source_mv must be int, got bool True"):
        meter_spec_from_toml({"driver": "ppk2", "source_mv": True})
    with pytest.raises(EnergyError, match="expected a table or a string, got int 5"):
        meter_spec_from_toml(5)


def test_every_driver_is_constructible_from_its_settings() -> None:
    """The settings a spec accepts are keywords the driver really takes."""
    samples = {str: "x", int: 1, float: 1.0}
    for name, driver in DRIVERS.items():
        for key, kind in driver.settings.items():
            settings = {k: samples[str] for k in driver.required}
            if name == "ppk2":
                settings["source_mv"] = "3300"
            value = {
                "marker_input": {"joulescope": "gpi0", "otii": "i1"}.get(name, "x"),
                "event_edges": "fal",
                "sample_rate_hz": "5000" if name == "lpm01a" else "1000000",
                "supply_mv": "3300",
                "source_mv": "3300",
                "supply_v": None,
                "marker_channel": "2",
            }.get(key, samples[kind])
            if value is None:
                continue
            settings[key] = str(value)
            parse_meter_spec(name + ":" + ",".join(f"{k}={v}" for k, v in settings.items()))

"""The pytest side of labgrid places (docs/farm.md): the controller reserves
the rack's labgrid instances before anything resolves them, xdist workers get
the places' links from it, and every case on a place first checks with the
coordinator that the place is still this session's (a stolen place fails
the case with the reason). hil/pytestplugin/rack.py calls `take_places`."""

from __future__ import annotations

import atexit
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hil.boards.board import load_board
from hil.energy.errors import EnergyError
from hil.energy.spec import DRIVERS, MeterSpec, meter_spec
from hil.rack.labgrid_places import Farm, FarmError, PlaceLinks, PlaceWatch
from hil.rack.rack import Instance, Rack
from hil.rack.select import instance_of

PLACES_KEY = "hil_labgrid_places"


def place_meter(inst: Instance, links: PlaceLinks) -> MeterSpec | None:
    """The instance's meter when its place has one (a NetworkSerialPort named
    power_meter): the driver and settings from the rack's power_meter table,
    else the driver from the place's power_meter tag; the port from the place."""
    base = inst.power_meter
    if not links.meter:
        return base
    where = f"labgrid place {links.place} (instance {inst.name})"
    driver = base.driver if base else links.meter_driver
    if not driver:
        raise FarmError(
            f"{where} has a power_meter port but no meter driver: tag the place "
            f"power_meter=ppk2 (or lpm01a), or give the instance a power_meter table"
        )
    if base and links.meter_driver and links.meter_driver != base.driver:
        raise FarmError(
            f"{where}: the place's meter is a {links.meter_driver}, the rack's power_meter "
            f"a {base.driver}"
        )
    if driver not in DRIVERS or "port" not in DRIVERS[driver].settings:
        serial = ", ".join(n for n, d in DRIVERS.items() if "port" in d.settings)
        raise FarmError(
            f"{where}: meter driver {driver!r} is not reached through a serial port "
            f"(a place's power_meter is a NetworkSerialPort: {serial})"
        )
    settings = {k: v for k, v in (base.settings if base else ()) if k not in ("port", "serial")}
    try:
        return meter_spec(driver, {**settings, "port": links.meter})
    except EnergyError as exc:
        raise FarmError(f"{where}: {exc}") from None


def _apply(inst: Instance, links: PlaceLinks) -> Instance:
    if not links.serial:
        raise FarmError(
            f"labgrid place {links.place} (instance {inst.name}) has no NetworkSerialPort resource"
        )
    probe = inst.probe
    if links.probe and "pyocd" in load_board(inst.board).backend_order:
        probe = links.probe
    return dataclasses.replace(
        inst, serial=links.serial, probe=probe, power_meter=place_meter(inst, links)
    )


class PlaceGuard:
    """Registered as a pytest plugin while the session holds labgrid places."""

    def __init__(self, farm: Farm | None, address: str, places: dict[str, dict[str, str]]):
        self.farm = farm  # the controller's connection; None in xdist workers
        self.places = places  # instance -> PlaceLinks as a dict
        self.watch = PlaceWatch(address)

    def why_lost(self, instance: str) -> str:
        info = self.places.get(instance)
        if info is None:
            return ""
        return self.watch.why_lost(info["place"], info["token"])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        name = instance_of(item.nodeid, list(self.places))
        if name and (reason := self.why_lost(name)):
            pytest.fail(reason, pytrace=False)
        result = yield
        if name and (reason := self.why_lost(name)):
            pytest.fail(reason, pytrace=False)
        return result

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[PLACES_KEY] = json.dumps(self.places)

    def close(self) -> None:
        self.watch.close()
        if self.farm is not None:
            self.farm.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close()


def take_places(config: pytest.Config, rack: Rack, instances: list[Instance]) -> list[Instance]:
    """Reserve a place for each selected labgrid instance (the controller),
    or read the controller's places (a worker); return the instances with
    the places' serial port and probe."""
    wanted = [i for i in instances if i.labgrid]
    if not wanted:
        return instances
    given = getattr(config, "workerinput", {}).get(PLACES_KEY)
    farm = None
    if given is not None:
        places: dict[str, dict[str, str]] = json.loads(given)
    else:
        farm = Farm(rack.coordinator, rack.keepalive)
        farm.connect()
        atexit.register(farm.close)  # Ctrl-C before pytest_unconfigure, or an error
        places = {}
        try:
            for inst in wanted:
                links = farm.reserve(dict(inst.labgrid), config.getoption("hil_lock_timeout"))
                places[inst.name] = dataclasses.asdict(links)
        except BaseException:
            farm.close()
            raise
    guard = PlaceGuard(farm, rack.coordinator, places)
    config.pluginmanager.register(guard, "hil-labgrid-places")
    by_name = {
        name: PlaceLinks(**info) for name, info in places.items()
    }
    return [_apply(i, by_name[i.name]) if i.name in by_name else i for i in instances]


def header(config: pytest.Config) -> list[str]:
    guard = config.pluginmanager.get_plugin("hil-labgrid-places")
    if not isinstance(guard, PlaceGuard):
        return []
    return [
        f"hil: labgrid place {info['place']} -> instance {name} (reservation {info['token']})"
        + (f"; power meter {info['meter']}" if info.get("meter") else "")
        for name, info in guard.places.items()
    ]

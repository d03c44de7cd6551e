"""The pytest side of measured energy: which meter a board's cases use (a
rack instance's `power_meter`, or `--hil-meter` for the boards on the command
line), how each case is measured, and the meter's life: opened once per
board session, closed at its end. Its own pytest plugin (registered by
hil/pytestplugin/plugin.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from hil.cli_args import int_in
from hil.energy.errors import EnergyError
from hil.energy.meter import Meter
from hil.energy.plan import EnergyPlan
from hil.energy.spec import MeterSpec, parse_meter_spec
from hil.pytestplugin.options import hil_group, usage_errors
from hil.rack.resolve import RackEntry

SPEC = pytest.StashKey[MeterSpec | None]()
PLAN = pytest.StashKey[EnergyPlan]()


def add_options(group: Any) -> None:
    group.addoption(
        "--hil-meter",
        metavar="SPEC",
        default=None,
        help="measure energy per inference with this meter on every --board "
        "(e.g. ppk2:serial=C1234567,source_mv=3300; docs/energy.md); with --hil-rack, "
        "each instance's power_meter is used instead",
    )
    group.addoption(
        "--hil-energy-inferences",
        type=int_in(1),
        default=10,
        metavar="N",
        help="timed inferences per energy capture (default 10)",
    )
    group.addoption(
        "--hil-energy-mlperf",
        action="store_true",
        help="MLPerf Tiny's energy method: the median of 5 runs of at least 10 s of inference",
    )


def configure(config: pytest.Config, rack: bool) -> None:
    """Check the energy options before any board is touched."""
    text = config.getoption("hil_meter")
    if text and rack:
        raise EnergyError(
            "--hil-meter is for --board runs; in a rack, give each instance its power_meter"
        )
    config.stash[SPEC] = parse_meter_spec(text) if text else None
    config.stash[PLAN] = EnergyPlan(
        inferences=config.getoption("hil_energy_inferences"),
        mlperf=config.getoption("hil_energy_mlperf"),
    )


def plan(config: pytest.Config) -> EnergyPlan:
    return config.stash[PLAN]


def meter_spec(config: pytest.Config, entry: RackEntry | None) -> MeterSpec | None:
    if entry is not None:
        return entry.instance.power_meter
    return config.stash.get(SPEC, None)


@contextlib.contextmanager
def open_meter(spec: MeterSpec | None, where: str) -> Iterator[Meter | None]:
    """The board's meter, open for the session (None: energy is modeled)."""
    if spec is None:
        yield None
        return
    meter = spec.create()
    try:
        meter.open()
    except EnergyError as exc:
        pytest.fail(f"{where}: power meter {spec.describe()}: {exc}", pytrace=False)
    try:
        yield meter
    finally:
        meter.close()


def header(config: pytest.Config) -> list[str]:
    spec = config.stash.get(SPEC, None)
    if spec is None:
        return []
    return [f"hil energy: measured with {spec.describe()}, {plan(config).describe()}"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_hil_boards(config: pytest.Config, rack: bool) -> None:
    with usage_errors():
        configure(config, rack=rack)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header(config)

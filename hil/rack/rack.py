"""The rack file (TOML, docs/rack.md): the board instances a nightly run drives.
Every error names the file and the field."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.boards.board import KNOWN_BACKENDS, Board, load_board
from hil.energy.errors import EnergyError
from hil.energy.spec import MeterSpec, meter_spec_from_toml
from hil.errors import BoardFileError, HilError
from hil.firmware.tflm_firmware import ENGINES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
REMOTE_RE = re.compile(r"^remote:(?P<host>[^:\s]+):(?P<port>\d+)$")
INSTANCE_FIELDS = (
    "name",
    "board",
    "probe",
    "serial",
    "power_meter",
    "tags",
    "backend",
    "uart_port",
    "engine",
    "description",
    "labgrid",
)
TAG_RE = re.compile(r"^[a-z][a-z0-9_]+$")  # labgrid's tag key rule
# labgrid's coordinator expires a reservation 60 s after its last poll
# (labgrid.remote.common.Reservation.refresh); hil polls well inside that.
LABGRID_EXPIRY_SECONDS = 60.0
KEEPALIVE_SECONDS = 10.0


class RackFileError(HilError):
    """A rack file is missing, unreadable, or has a missing or wrong field."""


@dataclass(frozen=True)
class Instance:
    """One physical (or emulated) board in the rack."""

    name: str  # unique in the rack; in test ids, lock files and results
    board: str  # board type: a boards/ file name
    probe: str = ""  # debug probe unique id, or "remote:host:port" (pyOCD probe server)
    serial: str = ""  # serial port match: USB serial number, VID:PID, device path or URL
    power_meter: MeterSpec | None = None  # the meter on this board's supply, if any
    tags: tuple[str, ...] = ()
    backend: str = ""  # force one of the board's backends
    uart_port: int = 0  # emulators: fixed TCP port of the emulated UART (0: any free port)
    engine: str = ""  # this instance's default engine (hil.firmware.engine_choice)
    description: str = ""
    labgrid: tuple[tuple[str, str], ...] = ()  # tags of the labgrid place to reserve

    @property
    def remote_probe(self) -> tuple[str, int] | None:
        m = REMOTE_RE.match(self.probe)
        return (m["host"], int(m["port"])) if m else None


@dataclass(frozen=True)
class Rack:
    path: Path
    instances: tuple[Instance, ...]
    name: str = ""
    coordinator: str = ""  # labgrid coordinator HOST[:PORT] (docs/farm.md)
    keepalive: float = KEEPALIVE_SECONDS  # seconds between refreshes of the reservations

    def instance(self, name: str) -> Instance:
        for inst in self.instances:
            if inst.name == name:
                return inst
        raise RackFileError(f"{self.path}: no instance named {name!r}")


class _Table:
    """Typed access to one TOML table; errors name the file and the field."""

    def __init__(self, data: dict[str, Any], path: Path, where: str) -> None:
        self.data = data
        self.path = path
        self.where = where

    def fail(self, key: str, problem: str) -> RackFileError:
        return RackFileError(f"{self.path}: {self.where}{key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing (required)")
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            expected = getattr(kind, "__name__", "a number")
            raise self.fail(key, f"expected {expected}, got {type(value).__name__} {value!r}")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"expected a list of non-empty strings, got {value!r}")
        return tuple(value)


def load_rack(path: str | Path) -> Rack:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise RackFileError(f"cannot read rack file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RackFileError(f"{path}: not valid TOML: {exc}") from exc
    top = _Table(data, path, "")
    unknown = sorted(set(data) - {"name", "instance", "labgrid"})
    if unknown:
        raise top.fail(
            unknown[0], "unknown field (a rack has `name`, [labgrid] and [[instance]] tables)"
        )
    coordinator, keepalive = _labgrid_table(top)
    raw = top.get("instance", list)
    if not raw:
        raise top.fail("instance", "empty; add at least one [[instance]]")
    instances: list[Instance] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise top.fail(f"instance[{i}]", "expected a table ([[instance]])")
        instances.append(_instance(item, path, i))
    seen: set[str] = set()
    for inst in instances:
        if inst.name in seen:
            raise RackFileError(f"{path}: instance {inst.name!r}: name: used twice")
        seen.add(inst.name)
        if inst.labgrid and not coordinator:
            raise RackFileError(
                f"{path}: instance {inst.name!r}: labgrid: needs the rack's "
                '[labgrid] coordinator = "HOST:PORT"'
            )
    return Rack(path, tuple(instances), top.get("name", str, ""), coordinator, keepalive)


def _labgrid_table(top: _Table) -> tuple[str, float]:
    """[labgrid]: the coordinator's address and the keep-alive period."""
    if "labgrid" not in top.data:
        return "", KEEPALIVE_SECONDS
    table = top.get("labgrid", dict)
    t = _Table(table, top.path, "labgrid.")
    unknown = sorted(set(table) - {"coordinator", "keepalive"})
    if unknown:
        raise t.fail(unknown[0], "unknown field (known: coordinator, keepalive)")
    address = str(t.get("coordinator", str)).strip()
    if not address:
        raise t.fail("coordinator", "empty; give HOST or HOST:PORT")
    keepalive = float(t.get("keepalive", (int, float), KEEPALIVE_SECONDS))
    if not 0 < keepalive < LABGRID_EXPIRY_SECONDS:
        raise t.fail(
            "keepalive",
            f"{keepalive:g} s: expected more than 0 and less than labgrid's "
            f"{LABGRID_EXPIRY_SECONDS:g} s reservation expiry",
        )
    return address, keepalive


def _labgrid_tags(t: _Table) -> tuple[tuple[str, str], ...]:
    raw = t.get("labgrid", dict, {})
    tags = []
    for key, value in sorted(raw.items()):
        if not TAG_RE.match(key):
            raise t.fail(f"labgrid.{key}", "a labgrid tag is lower-case letters, digits and _")
        if not isinstance(value, str) or not value:
            raise t.fail(f"labgrid.{key}", f"expected a non-empty string, got {value!r}")
        tags.append((key, value))
    if "labgrid" in t.data and not tags:
        raise t.fail("labgrid", "empty; give the place's tags, e.g. { board = \"corstone300\" }")
    return tuple(tags)


def _instance(data: dict[str, Any], path: Path, index: int) -> Instance:
    label = data.get("name") if isinstance(data.get("name"), str) else None
    t = _Table(data, path, f"instance {label!r}: " if label else f"instance[{index}]: ")
    unknown = sorted(set(data) - set(INSTANCE_FIELDS))
    if unknown:
        raise t.fail(unknown[0], f"unknown field (known: {', '.join(INSTANCE_FIELDS)})")
    name = t.get("name", str)
    if not NAME_RE.match(name):
        raise t.fail("name", f"{name!r}: use letters, digits, '.', '_' and '-'")
    board_name = t.get("board", str)
    try:
        board = load_board(board_name)
    except BoardFileError as exc:
        raise t.fail("board", str(exc)) from exc
    inst = Instance(
        name=name,
        board=board_name,
        probe=t.get("probe", str, "").strip(),
        serial=t.get("serial", str, "").strip(),
        power_meter=_power_meter(t),
        tags=t.str_list("tags"),
        backend=t.get("backend", str, ""),
        uart_port=t.get("uart_port", int, 0),
        engine=t.get("engine", str, ""),
        description=t.get("description", str, ""),
        labgrid=_labgrid_tags(t),
    )
    _check_consistent(inst, board, t)
    return inst


def _power_meter(t: _Table) -> MeterSpec | None:
    if "power_meter" not in t.data:
        return None
    try:
        return meter_spec_from_toml(t.data["power_meter"])
    except EnergyError as exc:
        raise t.fail("power_meter", str(exc)) from exc


def _check_consistent(inst: Instance, board: Board, t: _Table) -> None:
    if inst.engine and inst.engine not in ENGINES:
        raise t.fail("engine", f"{inst.engine!r} is not one of {', '.join(ENGINES)}")
    if inst.backend:
        if inst.backend not in KNOWN_BACKENDS:
            raise t.fail("backend", f"{inst.backend!r} is not one of {', '.join(KNOWN_BACKENDS)}")
        if inst.backend not in board.backend_order:
            raise t.fail(
                "backend",
                f"board {board.name} has no {inst.backend!r} backend "
                f"(it has: {', '.join(board.backend_order)})",
            )
    if inst.probe:
        if "pyocd" not in board.backend_order:
            raise t.fail("probe", f"board {board.name} is not run through a probe (no pyocd)")
        if inst.backend and inst.backend != "pyocd":
            raise t.fail("probe", f"a probe needs backend 'pyocd', not {inst.backend!r}")
        if inst.probe.startswith("remote:") and inst.remote_probe is None:
            raise t.fail("probe", f"{inst.probe!r}: expected remote:HOST:PORT")
    if inst.labgrid and inst.serial:
        raise t.fail("serial", "comes from the labgrid place (its NetworkSerialPort); remove it")
    if not 0 <= inst.uart_port <= 65535:
        raise t.fail("uart_port", f"{inst.uart_port} is not a TCP port")
    if inst.uart_port and not ({"qemu"} & set(board.backend_order)):
        raise t.fail("uart_port", f"only for emulated instances; {board.name} has no qemu")
    if inst.serial:
        from hil.rack.serial_match import parse_serial_match

        try:
            parse_serial_match(inst.serial)
        except ValueError as exc:
            raise t.fail("serial", str(exc)) from exc

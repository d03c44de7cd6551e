"""A board's datasheet energy figures, from the board file's optional [energy]
table: what hil's modeled energy (hil/energy/modeled.py) multiplies counters
by. Every figure must carry its citation; docs/energy.md has the rules."""

from __future__ import annotations

from dataclasses import dataclass

from hil.boards.fields import TomlTable
from hil.errors import BoardFileError

REQUIRED = ("supply_v", "active_ua_per_mhz", "core_mhz", "source")


@dataclass(frozen=True)
class EnergyParams:
    supply_v: float  # the supply the datasheet figure was given at (V)
    active_ua_per_mhz: float  # run-mode supply current per MHz of core clock (µA/MHz)
    core_mhz: float  # the core clock the figure was specified at (MHz)
    source: str  # citation: document, number, table or section, URL
    proxy: str = ""  # the part the figure belongs to, when it is not this board's own

    def describe(self) -> str:
        part = f" of {self.proxy} (a proxy for this board)" if self.proxy else ""
        return (
            f"{self.active_ua_per_mhz:g} µA/MHz at {self.supply_v:g} V, {self.core_mhz:g} MHz"
            f"{part}; source: {self.source}"
        )


def _positive(table: TomlTable, key: str) -> float:
    value = float(table.get(key, (int, float)))
    if not value > 0:
        raise table._fail(key, f"must be positive, got {value:g}")
    return value


def parse_energy(top: TomlTable) -> EnergyParams | None:
    """[energy] supply_v, active_ua_per_mhz, core_mhz and source, all or none;
    proxy optional. A figure without its citation is refused."""
    if "energy" not in top.data:
        return None
    table = top.table("energy")
    missing = [key for key in REQUIRED if key not in table.data]
    if missing:
        # The citation is what makes a figure usable at all; say so first.
        why = (
            "every figure needs its citation (datasheet, document number, table, URL)"
            if "source" in missing
            else "the four fields go together"
        )
        raise BoardFileError(
            f"{table.path}: energy: missing {', '.join(missing)} ({why}); "
            f"required together: {', '.join(REQUIRED)}"
        )
    unknown = sorted(set(table.data) - {*REQUIRED, "proxy"})
    if unknown:
        raise BoardFileError(
            f"{table.path}: energy: unknown field(s) {', '.join(unknown)} "
            f"(known: {', '.join(REQUIRED)}, proxy)"
        )
    source = table.get("source", str).strip()
    if not source:
        raise table._fail("source", "empty; cite the datasheet, its number, the table and a URL")
    return EnergyParams(
        supply_v=_positive(table, "supply_v"),
        active_ua_per_mhz=_positive(table, "active_ua_per_mhz"),
        core_mhz=_positive(table, "core_mhz"),
        source=source,
        proxy=table.get("proxy", str, "").strip(),
    )

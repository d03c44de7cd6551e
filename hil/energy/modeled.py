"""Modeled energy for boards without a meter (every emulator):

    E = V x (I_active per MHz x f) x (counter / f) = V x I_active per MHz x counter

with the board file's cited datasheet figures. Never a measurement: the
figure is marked modeled, and says what its counter counted. On QEMU the
counter is instructions, so the model assumes one instruction per cycle."""

from __future__ import annotations

from dataclasses import dataclass

from hil.boards.board import Board
from hil.energy.figure import EnergyFigure
from hil.measurements.counters import Measurement

# What each counter kind means for the model, and the assumption it adds.
_COUNTERS = {
    "cycles": "core cycles",
    "instructions": "instruction counts (QEMU -icount), assuming 1 instruction per cycle",
    "ticks": "FVP SysTick ticks (an instruction-based model), assuming 1 tick per cycle",
}


@dataclass(frozen=True)
class NoModeledEnergy:
    """Why a board gets no modeled figure."""

    reason: str


def modeled_energy_or_reason(
    board: Board, counter: Measurement, inferences: int = 1
) -> EnergyFigure | NoModeledEnergy:
    """The modeled energy per inference of `counter` (covering `inferences`
    inferences), or the reason there is none."""
    params = board.energy
    if params is None:
        return NoModeledEnergy(
            f"board {board.name} has no [energy] table in {board.path.name}: no cited "
            "datasheet figures, so no modeled energy"
        )
    if counter.kind not in _COUNTERS:
        return NoModeledEnergy(
            f"counter kind {counter.kind!r} cannot drive the energy model "
            f"(known: {', '.join(_COUNTERS)})"
        )
    if counter.value <= 0 or inferences <= 0:
        return NoModeledEnergy(
            f"nothing to model: counter {counter.value} over {inferences} inference(s)"
        )
    # µA/MHz x cycles = 1e-6 A / 1e6 Hz x cycles = 1e-12 A*s per cycle.
    charge_c = params.active_ua_per_mhz * counter.value * 1e-12
    energy_j = params.supply_v * charge_c / inferences
    clock_mhz = board.clock_hz / 1e6
    proxy = f" ({params.proxy}, used as a proxy for {board.core})" if params.proxy else ""
    method = (
        f"modeled from {_COUNTERS[counter.kind]}: E = V x I_active/MHz x counter = "
        f"{params.supply_v:g} V x {params.active_ua_per_mhz:g} uA/MHz{proxy} x "
        f"{counter.value} {counter.kind}"
    )
    notes = [f"counter: {counter.method}", "datasheet run-mode current, not a measurement"]
    if abs(params.core_mhz - clock_mhz) > 1e-9 * clock_mhz:
        notes.append(
            f"figure specified at {params.core_mhz:g} MHz, board clock {clock_mhz:g} MHz: "
            "current assumed proportional to clock"
        )
    return EnergyFigure(
        energy_per_inference_j=energy_j,
        inferences=inferences,
        modeled=True,
        method=method,
        meter_model="datasheet model (no meter)",
        sync="none: counter-based model",
        supply_v=params.supply_v,
        core_clock_hz=board.clock_hz,
        average_power_w=params.supply_v * params.active_ua_per_mhz * 1e-6 * clock_mhz,
        source=params.source,
        notes=tuple(notes),
    )


def modeled_energy(board: Board, counter: Measurement, inferences: int = 1) -> EnergyFigure | None:
    """The modeled figure, or None when the board has no cited figures (see
    modeled_energy_or_reason for why)."""
    result = modeled_energy_or_reason(board, counter, inferences)
    return result if isinstance(result, EnergyFigure) else None

"""Board files' [energy] tables and the modeled energy they drive: figures
present only with a citation, always labelled modeled, and equal to
counter x the board's parameters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hil.boards import load_board
from hil.boards.board import Board
from hil.energy import EnergyError, EnergyFigure
from hil.energy.modeled import NoModeledEnergy, modeled_energy, modeled_energy_or_reason
from hil.errors import BoardFileError
from hil.measurements.counters import Measurement
from hil.paths import boards_dir

# Test figures only, for a board file written here: not datasheet values.
ENERGY = """
[energy]
supply_v = 1.8
active_ua_per_mhz = 23.5
core_mhz = 32
source = "TEST FIGURES for hil's unit tests, not from any datasheet"
proxy = "a made-up Cortex-M55 part"
"""


def board_with(tmp_path: Path, base: str, extra: str) -> Board:
    """A board file extending the shipped `base` board, with `extra` tables."""
    shutil.copy(boards_dir() / f"{base}.toml", tmp_path / f"{base}.toml")
    path = tmp_path / "test-board.toml"
    path.write_text(f'extends = "{base}"\nname = "test-board"\n{extra}')
    return load_board(path)


def instructions(value: int) -> Measurement:
    return Measurement("instructions", value, "QEMU -icount shift=5, SysTick (test)")


@pytest.mark.parametrize("base", ["corstone300", "mps2-an386", "mps2-an505"])
def test_modeled_figure_on_qemu_boards_is_counter_times_parameters(
    tmp_path: Path, base: str
) -> None:
    board = board_with(tmp_path, base, ENERGY)
    assert board.energy is not None
    count = 1_234_567
    figure = modeled_energy(board, instructions(count))
    assert isinstance(figure, EnergyFigure)
    # V x (uA/MHz x MHz) x (count / Hz): the clock cancels out.
    current_a = 23.5e-6 * (board.clock_hz / 1e6)
    seconds = count / board.clock_hz
    assert figure.energy_per_inference_j == pytest.approx(1.8 * current_a * seconds, rel=1e-12)
    assert figure.average_power_w == pytest.approx(1.8 * current_a, rel=1e-12)
    assert figure.modeled and figure.kind == "modeled"
    assert figure.supply_v == 1.8 and figure.core_clock_hz == board.clock_hz
    assert "1 instruction per cycle" in figure.method
    assert "a made-up Cortex-M55 part" in figure.method and "proxy" in figure.method
    assert figure.source.startswith("TEST FIGURES")


def test_modeled_label_everywhere(tmp_path: Path) -> None:
    figure = modeled_energy(board_with(tmp_path, "corstone300", ENERGY), instructions(10_000))
    assert figure is not None
    assert "modeled" in figure.label
    assert "modeled" in figure.describe() and "source:" in figure.describe()
    as_dict = figure.to_dict()
    assert as_dict["kind"] == "modeled" and as_dict["modeled"] is True
    assert "modeled" in str(as_dict["label"]) and "modeled" in str(as_dict["method"])
    assert as_dict["energy_per_inference"] == {"value": figure.energy_per_inference_j, "unit": "J"}
    assert as_dict["supply_voltage"] == {"value": 1.8, "unit": "V"}
    json.dumps(as_dict)  # the results store keeps it as JSON


def test_counter_kinds_and_inference_count(tmp_path: Path) -> None:
    board = board_with(tmp_path, "corstone300", ENERGY)
    cycles = modeled_energy(board, Measurement("cycles", 1000, "DWT CYCCNT"))
    ticks = modeled_energy(board, Measurement("ticks", 1000, "FVP SysTick"))
    assert cycles is not None and ticks is not None
    assert "core cycles" in cycles.method and "FVP SysTick ticks" in ticks.method
    per_ten = modeled_energy(board, Measurement("cycles", 1000, "DWT"), inferences=10)
    assert per_ten is not None
    assert per_ten.energy_per_inference_j == pytest.approx(cycles.energy_per_inference_j / 10)
    assert not any("specified at" in n for n in cycles.notes)  # spec clock == board clock


def test_clock_mismatch_is_noted(tmp_path: Path) -> None:
    board = board_with(tmp_path, "corstone300", ENERGY.replace("core_mhz = 32", "core_mhz = 100"))
    figure = modeled_energy(board, instructions(5000))
    assert figure is not None
    assert any("specified at 100 MHz, board clock 32 MHz" in n for n in figure.notes)


def test_no_figures_means_no_modeled_energy_and_a_reason(tmp_path: Path) -> None:
    board = board_with(tmp_path, "mps2-an505", "")  # a shipped board without [energy]
    assert modeled_energy(board, instructions(1000)) is None
    result = modeled_energy_or_reason(board, instructions(1000))
    assert isinstance(result, NoModeledEnergy)
    assert "no [energy] table" in result.reason and "no cited" in result.reason


def test_unknown_counter_kind_gives_a_reason(tmp_path: Path) -> None:
    board = board_with(tmp_path, "corstone300", ENERGY)
    result = modeled_energy_or_reason(board, Measurement("bogus", 5, "?"))
    assert isinstance(result, NoModeledEnergy) and "cannot drive the energy model" in result.reason


def test_a_modeled_figure_without_source_cannot_be_made() -> None:
    with pytest.raises(EnergyError, match="needs the citation"):
        EnergyFigure(1e-6, 1, modeled=True, method="modeled from x", meter_model="model")
    with pytest.raises(EnergyError, match="must say 'modeled'"):
        EnergyFigure(1e-6, 1, modeled=True, method="estimate", meter_model="m", source="DS")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('source = "TEST', 'sauce = "TEST'),
            r"energy: missing source \(every figure needs its citation",
        ),
        (
            lambda t: t.replace("supply_v = 1.8\n", ""),
            r"energy: missing supply_v \(the four fields go together\)",
        ),
        (
            lambda t: t.replace("supply_v = 1.8", "supply_v = 0"),
            r"energy\.supply_v: must be positive",
        ),
        (
            lambda t: t.replace("core_mhz = 32", 'core_mhz = "32"'),
            r"energy\.core_mhz: expected int/float, got str",
        ),
        (
            lambda t: t.replace('source = "TEST FIGURES', 'source = "  "\n#'),
            r"energy\.source: empty; cite the datasheet",
        ),
        (lambda t: t + "typ_ma = 3\n", r"energy: unknown field\(s\) typ_ma"),
    ],
)
def test_energy_table_validation(tmp_path: Path, edit: Callable[[str], str], message: str) -> None:
    with pytest.raises(BoardFileError, match=message):
        board_with(tmp_path, "mps2-an505", edit(ENERGY))  # no [energy] of its own to inherit


def test_energy_table_is_inherited_and_overridden(tmp_path: Path) -> None:
    base = board_with(tmp_path, "corstone300", ENERGY)
    child = tmp_path / "child.toml"
    child.write_text('extends = "test-board"\nname = "child"\n[energy]\nsupply_v = 3.0\n')
    loaded = load_board(child)
    assert base.energy is not None and loaded.energy is not None
    assert loaded.energy.supply_v == 3.0
    assert loaded.energy.active_ua_per_mhz == base.energy.active_ua_per_mhz
    assert loaded.energy.source == base.energy.source

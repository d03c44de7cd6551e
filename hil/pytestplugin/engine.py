"""pytest options for the engine the firmware runs: `--hil-engine` and
`--hil-tflm` and `--hil-tflm-ops`, the choice per board made once at configure time (so a missing
TFLM tree stops the session before anything builds) and shown in the header."""

from __future__ import annotations

import pytest

from hil.boards.resolve import Resolution
from hil.firmware import tflm_tree
from hil.firmware.engine_choice import EngineChoice, choose_engine
from hil.firmware.tflm_firmware import ENGINES
from hil.firmware.tflm_resolver import OPS_MODES, choose_ops_mode
from hil.pytestplugin import rack
from hil.pytestplugin.options import hil_group, usage_errors

CHOICES = pytest.StashKey[dict[str, EngineChoice]]()


def add_options(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--hil-engine",
        choices=tuple(ENGINES),
        default=None,
        help="the engine in the firmware: hil's interpreter, TFLM with reference kernels, or "
        "TFLM with CMSIS-NN (default: tflm-cmsis-nn when a TFLM tree is found, else hil)",
    )
    group.addoption(
        "--hil-tflm",
        metavar="PATH",
        default=None,
        help="TensorFlow Lite Micro tree to build from (else HIL_TFLM_DIR, [tool.hil] "
        "tflm_dir, ../shared/third_party/tflite-micro)",
    )
    group.addoption(
        "--hil-tflm-ops",
        choices=OPS_MODES,
        default=None,
        help="operators TFLM's resolver registers: every builtin (all), or only the loaded "
        "model's (model: the flash a minimal resolver needs; the image is built per op set). "
        "Default: the board file's [firmware] tflm_ops, else all",
    )


def configure(config: pytest.Config, resolutions: list[Resolution]) -> None:
    """Choose each board's engine; a HilError (e.g. no TFLM tree) propagates."""
    tflm_tree.choose(config.getoption("hil_tflm"))
    requested = config.getoption("hil_engine")
    engines = {e.name: e.instance.engine for e in config.stash.get(rack.ENTRIES, [])}
    config.stash[CHOICES] = {
        _key(r): choose_engine(r.board, requested, (engines.get(r.instance, ""), r.instance))
        for r in resolutions
    }


def _key(resolution: Resolution) -> str:
    """Per rack instance (each may name its own engine), else per board."""
    return resolution.instance or resolution.board.name


def engine_for(config: pytest.Config, resolution: Resolution) -> str:
    choice = config.stash.get(CHOICES, {}).get(_key(resolution))
    return choice.engine if choice is not None else choose_engine(resolution.board).engine


def tflm_ops_for(config: pytest.Config, resolution: Resolution, case_ops: str | None = None) -> str:
    """The ops mode of a case (its own tflm_ops, else the session's)."""
    return choose_ops_mode(case_ops or config.getoption("hil_tflm_ops"), resolution.board.tflm_ops)


def header(config: pytest.Config) -> list[str]:
    choices = config.stash.get(CHOICES, {})
    ops = config.getoption("hil_tflm_ops")
    tail = [f"hil: TFLM registers {ops} operators (--hil-tflm-ops)"] if ops else []
    lines = {f"hil: engine {c.describe()}" for c in choices.values()}
    if len(lines) <= 1:
        return sorted(lines) + tail
    return [f"hil: {name} engine {c.describe()}" for name, c in choices.items()] + tail


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(hil_group(parser))


def pytest_hil_boards(config: pytest.Config, resolutions: list[Resolution]) -> None:
    with usage_errors():
        configure(config, resolutions)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header(config)

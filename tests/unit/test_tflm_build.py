"""The TFLM build's decisions that need no compiler: which tree, which
sources, which engine — against the real TFLM tree beside
the checkout and against broken fake trees."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from hil import config
from hil.boards.board import load_board
from hil.errors import BoardFileError, BuildError
from hil.firmware import tflm_tree
from hil.firmware.engine_choice import choose_engine
from hil.firmware.tflm_build import (
    core_name,
    framework_sources,
    kernel_sources,
    platform_flags,
    specialised,
)
from hil.firmware.tflm_tree import TflmTreeError
from hil.results.regressions import engine_kind

TREE = tflm_tree.default_tree()


@pytest.fixture
def tree() -> Path:
    if not TREE.is_dir():
        pytest.fail(f"TFLM tree not found at {TREE}", pytrace=False)
    return TREE


@pytest.fixture(autouse=True)
def no_engine_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIL_ENGINE", raising=False)
    monkeypatch.delenv("HIL_TFLM_DIR", raising=False)
    tflm_tree.choose(None)


def test_framework_sources_are_tflms_without_tests_or_platform_files(tree: Path) -> None:
    names = framework_sources(tree)
    assert "tensorflow/lite/micro/micro_interpreter.cc" in names
    assert "tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc" in names
    assert "tensorflow/lite/core/c/common.cc" in names
    assert not [n for n in names if n.endswith("_test.cc")]
    assert not [n for n in names if Path(n).name in ("debug_log.cc", "micro_time.cc")]
    assert "tensorflow/lite/array.cc" not in names
    assert all((tree / n).is_file() for n in names)


def test_cmsis_nn_replaces_kernels_by_name_only(tree: Path) -> None:
    reference = kernel_sources(tree)
    assert "tensorflow/lite/micro/kernels/conv.cc" in reference
    swap = specialised(tree, "cmsis-nn")
    kernels = "tensorflow/lite/micro/kernels"
    assert swap[f"{kernels}/conv.cc"] == f"{kernels}/cmsis_nn/conv.cc"
    assert set(swap) <= set(reference) and all((tree / n).is_file() for n in swap.values())
    assert specialised(tree, "reference") == {}


def test_core_flags_name_the_cmsis_device() -> None:
    assert core_name(["-mcpu=cortex-m4", "-mthumb"]) == "M4"
    assert core_name(["-mcpu=cortex-m55+nomve"]) == "M55"
    flags = platform_flags(["-mcpu=cortex-m55", "-mfloat-abi=hard"], "M55")
    assert "-mfpu=auto" in flags
    assert '-DCMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE="ARMCM55.h"' in flags
    with pytest.raises(BuildError, match="no supported -mcpu"):
        core_name(["-mcpu=cortex-a53"])


def test_missing_tree_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TflmTreeError, match=f"no TensorFlow Lite Micro tree at {tmp_path}/nope"):
        tflm_tree.tflm_tree(tmp_path / "nope")


def test_incomplete_tree_lists_what_is_missing(tmp_path: Path) -> None:
    header = tmp_path / "tensorflow/lite/micro/micro_interpreter.h"
    header.parent.mkdir(parents=True)
    header.write_text("")
    with pytest.raises(TflmTreeError) as info:
        tflm_tree.tflm_tree(tmp_path)
    text = str(info.value)
    assert str(tmp_path) in text and "cmsis_nn/Include/arm_nnfunctions.h" in text
    assert "micro_interpreter.h" not in text.split("missing:")[1]


def test_tree_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tflm_tree.locate()[0] == TREE
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.hil]\ntflm_dir = 'tflm'\n")
    config.activate(config.load_project(project))
    try:
        assert tflm_tree.locate()[0] == project / "tflm"
        monkeypatch.setenv("HIL_TFLM_DIR", str(tmp_path / "env"))
        assert tflm_tree.locate() == (tmp_path / "env", "from HIL_TFLM_DIR")
        tflm_tree.choose(tmp_path / "opt")
        assert tflm_tree.locate()[0] == tmp_path / "opt"
    finally:
        config.deactivate()
        tflm_tree.choose(None)


def test_an_installed_hil_names_no_tree_beside_a_checkout_it_does_not_have(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed (no HIL_HOME, no checkout), nothing names a tree: the error and
    the engine's reason say what to set, not a path inside site-packages."""
    from hil import paths

    board = load_board("corstone300")  # from the checkout, before hil looks installed
    monkeypatch.delenv("HIL_HOME", raising=False)
    monkeypatch.delenv("HIL_TFLM_DIR", raising=False)
    monkeypatch.delenv("HIL_ENGINE", raising=False)
    monkeypatch.setattr(paths, "_checkout", lambda: None)
    assert tflm_tree.locate()[0] is None
    with pytest.raises(TflmTreeError, match=r"^no TensorFlow Lite Micro tree: none given, "
                       r"and an installed hil has no checkout .*HIL_TFLM_DIR"):  # fmt: skip
        tflm_tree.tflm_tree()
    choice = choose_engine(board)
    assert choice.engine == "hil"
    assert "installed hil has no checkout" in choice.reason and "site-packages" not in choice.reason


def test_engine_default_follows_the_tree(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = load_board("corstone300")
    found = choose_engine(board)
    assert found.engine == "tflm-cmsis-nn" and str(tree) in found.reason
    monkeypatch.setenv("HIL_TFLM_DIR", str(tmp_path))
    fallback = choose_engine(board)
    assert fallback.engine == "hil" and f"no TFLM tree at {tmp_path}" in fallback.reason
    assert choose_engine(board, "hil").engine == "hil"


def test_tflm_requested_without_a_tree_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIL_TFLM_DIR", str(tmp_path / "absent"))
    started = time.monotonic()
    with pytest.raises(TflmTreeError, match=str(tmp_path / "absent")):
        choose_engine(load_board("mps2-an386"), "tflm")
    assert time.monotonic() - started < 2.0
    monkeypatch.setenv("HIL_ENGINE", "tflm-cmsis-nn")
    with pytest.raises(TflmTreeError):
        choose_engine(load_board("mps2-an386"))


def test_unknown_engine_in_a_board_file(tmp_path: Path) -> None:
    source = Path(load_board("mps2-an386").path).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace("[firmware]\n", '[firmware]\nengine = "tvm"\n', 1))
    with pytest.raises(BoardFileError, match=re.escape("firmware.engine: 'tvm'")):
        load_board(str(bad))


def test_baselines_compare_like_engines() -> None:
    assert engine_kind(None) == "hil"
    assert engine_kind("hil", "0.1.0") == "hil"
    assert engine_kind("tflm", "0123abcd reference") == "tflm"
    assert engine_kind("tflm", "0123abcd cmsis-nn") == "tflm-cmsis-nn"
    assert engine_kind("tflm", "0123abcd cmsis-nn release -Os/-O2 ops=all") == "tflm-cmsis-nn"
    assert engine_kind("tflm", "0123abcd reference ops=model") == "tflm ops=model"

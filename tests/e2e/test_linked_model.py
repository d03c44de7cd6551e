"""Models in flash: a case with model_placement="linked", or a model too
large for the board's model region, runs from a const array linked into the
image; the image is keyed by the model's hash and the device reports which
model it holds, so a changed model is relinked, never run stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.errors import ModelFileError
from hil.link.session import LoadedModel
from hil.paths import firmware_dir

BOARD = "corstone300"


def _loaded(dut: Dut) -> LoadedModel:
    assert dut.session.loaded is not None
    return dut.session.loaded


def test_linked_case_runs_from_flash_and_flash_includes_the_model(models_dir: Path) -> None:
    model = models_dir / "hello_world_int8.tflite"
    with Dut(resolve(load_board(BOARD)), engine="hil") as dut:
        uploaded = run_case(dut, ModelCase(model, vectors=5))
        assert uploaded.passed and not _loaded(dut).linked
        linked = run_case(dut, ModelCase(model, vectors=5, model_placement="linked"))
        assert linked.passed, linked.failure_report()
        assert linked.agreement["tflm"] == "exact"
        assert _loaded(dut).linked and linked.to_dict()["model"]["placement"] == "linked"
        assert uploaded.to_dict()["model"]["placement"] == "upload"
        assert dut.hello.linked_sha256 == uploaded.model.sha256
        assert dut.hello.linked_bytes == model.stat().st_size
        assert linked.firmware_build_id != uploaded.firmware_build_id
        assert uploaded.footprint is not None and linked.footprint is not None
        assert linked.footprint.flash >= uploaded.footprint.flash + model.stat().st_size
        # Another model on the same image is uploaded as usual.
        other = run_case(dut, ModelCase(models_dir / "digits_cnn_int8.tflite", vectors=2))
        assert other.passed and not _loaded(dut).linked


def test_a_changed_model_is_relinked(models_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.tflite"
    shutil.copy(models_dir / "hello_world_int8.tflite", model)
    with Dut(resolve(load_board(BOARD)), engine="hil") as dut:
        first = run_case(dut, ModelCase(model, vectors=3, model_placement="linked"))
        assert first.passed
        shutil.copy(models_dir / "digits_cnn_small_int8.tflite", model)  # same path, new bytes
        second = run_case(dut, ModelCase(model, vectors=3, model_placement="linked"))
        assert second.passed, second.failure_report()
        assert second.model.sha256 != first.model.sha256
        assert dut.hello.linked_sha256 == second.model.sha256
        assert second.firmware_build_id != first.firmware_build_id


@pytest.fixture
def small_ram_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """corstone300 with a port whose model region holds only 16 KiB."""
    ports = tmp_path / "ports"
    shutil.copytree(firmware_dir() / "ports" / "sse300", ports / "sse300-small")
    link = ports / "sse300-small" / "link.ld"
    link.write_text(link.read_text().replace("HIL_MODEL_BYTES = 2M;", "HIL_MODEL_BYTES = 16K;"))
    monkeypatch.setenv("HIL_PORT_PATH", str(ports))
    board = tmp_path / "corstone300-small.toml"
    board.write_text(
        'extends = "corstone300"\nname = "corstone300-small"\n[firmware]\nport = "sse300-small"\n'
    )
    return board


def test_a_model_too_large_for_ram_is_linked(small_ram_board: Path, models_dir: Path) -> None:
    model = models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"
    assert model.stat().st_size > 16 * 1024
    with Dut(resolve(load_board(small_ram_board)), engine="hil") as dut:
        assert dut.hello.model_capacity == 16 * 1024
        result = run_case(dut, ModelCase(model, vectors=2))
        assert result.passed, result.failure_report()
        assert _loaded(dut).linked


def test_upload_placement_refuses_a_model_too_large(
    small_ram_board: Path, models_dir: Path
) -> None:
    model = models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"
    with (
        Dut(resolve(load_board(small_ram_board)), engine="hil") as dut,
        pytest.raises(ModelFileError, match=r"holds models of at most 16,384 bytes in RAM"),
    ):
        run_case(dut, ModelCase(model, vectors=1, model_placement="upload"))


@pytest.mark.parametrize("engine", ["tflm", "tflm-cmsis-nn"])
def test_a_linked_model_runs_under_tflm(models_dir: Path, engine: str) -> None:
    """The TFLM adapter reads the model from the const array in flash as hil's
    engine does: bit-exact with the host interpreter, and HELLO says which."""
    model = models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite"
    with Dut(resolve(load_board(BOARD)), engine=engine) as dut:
        result = run_case(dut, ModelCase(model, vectors=3, model_placement="linked"))
        assert result.passed, result.failure_report()
        assert result.agreement["tflm"] == "exact"
        assert _loaded(dut).linked and result.to_dict()["model"]["placement"] == "linked"
        assert dut.hello.engine == "tflm"
        assert dut.hello.linked_sha256 == result.model.sha256

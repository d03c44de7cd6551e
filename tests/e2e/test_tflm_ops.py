"""TFLM images whose resolver registers only the model's operators
(`tflm_ops = "model"`): bit-exact with TFLM's host interpreter like the image
with every builtin, measurably smaller, and refusing a model that needs an
operator the image lacks with one clear line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut
from hil.errors import DeviceError
from hil.firmware.footprint import footprint
from hil.model.file import ModelFile
from tests.e2e.helpers import pytest_args, run_child

BOARD = "corstone300"
ENGINE = "tflm-cmsis-nn"
KWS = "mlperf_tiny_kws_ds_cnn_int8"
OTHER = "keyword_scrambled_8bit"  # SVDF and QUANTIZE, which KWS does not have


def symbols(elf: Path) -> set[str]:
    with open(elf, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        assert isinstance(table, SymbolTableSection)
        return {s.name for s in table.iter_symbols()}


@pytest.fixture(scope="module")
def model_ops_dut() -> Iterator[Dut]:
    dut = Dut(
        resolve(load_board(BOARD)), timeout=30.0, engine=ENGINE, transport="memory",
        tflm_ops="model",
    ).start()  # fmt: skip
    yield dut
    dut.close()


def test_model_ops_image_is_bit_exact_and_smaller(model_ops_dut: Dut, models_dir: Path) -> None:
    dut = model_ops_dut
    assert dut.image is not None and dut.image.tflm_ops is None  # booted with every builtin
    all_elf = dut.image.elf
    all_text = footprint(all_elf).text
    model = models_dir / f"{KWS}.tflite"
    result = run_case(dut, ModelCase(model, vectors=5, seed=3, references=("tflm",)))
    assert result.passed, result.failure_report()
    assert result.matched("tflm") == 5
    # The case ran on an image built for exactly KWS's operators.
    assert dut.image.tflm_ops == ModelFile(model).operator_set
    assert "ops=model" in dut.hello.engine_version.split()
    assert result.footprint is not None and result.footprint.tflm_ops == "model"
    assert result.to_dict()["footprint"]["tflm_ops"] == "model"
    model_text = result.footprint.text
    print(f"\n{KWS} on {BOARD} under {ENGINE}: .text {all_text:,} B with every builtin, "
          f"{model_text:,} B with the model's {len(dut.image.tflm_ops)} operators")  # fmt: skip
    assert model_text < all_text
    # gc-sections dropped the kernels nothing registers (SVDF is not in KWS).
    assert any("Svdf" in s or "SVDF" in s for s in symbols(all_elf))
    assert not any("Svdf" in s or "SVDF" in s for s in symbols(dut.image.elf))


def test_an_operator_the_image_lacks_is_refused_in_one_line(
    model_ops_dut: Dut, models_dir: Path
) -> None:
    dut = model_ops_dut
    kws = ModelFile(models_dir / f"{KWS}.tflite")
    other = ModelFile(models_dir / f"{OTHER}.tflite")
    dut.load(kws)  # the image registers KWS's operators only
    assert dut.image is not None and dut.image.tflm_ops == kws.operator_set
    missing = sorted(set(other.operator_set) - set(kws.operator_set))
    assert missing
    with pytest.raises(DeviceError) as info:
        dut.session.load_model(other.data)  # uploaded as is, no rebuild
    message = str(info.value)
    assert "\n" not in message
    assert "is not registered in this image (built with tflm_ops model)" in message
    assert any(f"operator {name} " in message for name in missing), message
    # Through the device, the image is rebuilt for the new model's operators.
    dut.load(other)
    assert dut.image.tflm_ops == other.operator_set


CASE_OPS = """
import pytest
from hil import ModelCase

@pytest.mark.parametrize("ops", [None, "all"])
def test_ops(check_model, ops):
    check_model(ModelCase({model!r}, vectors=3, references=("tflm",), tflm_ops=ops))
"""


def test_pytest_option_and_a_cases_own_ops_mode(
    models_dir: Path, tmp_path: Path, process_tag: str
) -> None:
    """`--hil-tflm-ops model` for the session; a case asking for `all` runs on
    a device of its own; the report says which image each case ran on."""
    suite = tmp_path / "test_ops.py"
    suite.write_text(CASE_OPS.format(model=str(models_dir / "hello_world_int8.tflite")))
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args(str(suite), f"--board={BOARD}", f"--hil-engine={ENGINE}",
                    "--hil-tflm-ops=model", f"--hil-report={report}", f"--rootdir={tmp_path}",
                    "-q"),
        cwd=tmp_path, HIL_PROCESS_TAG=process_tag,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = {c["test"].split("[")[-1].rstrip("]").removeprefix(f"{BOARD}-"): c
             for c in json.loads(report.read_text())["cases"]}  # fmt: skip
    assert set(cases) == {"None", "all"}, cases
    assert cases["None"]["engine"].endswith(" ops=model")
    assert cases["None"]["footprint"]["tflm_ops"] == "model"
    assert cases["all"]["engine"].endswith(" ops=all")
    model_text = cases["None"]["footprint"]["text"]["value"]
    assert model_text < cases["all"]["footprint"]["text"]["value"]

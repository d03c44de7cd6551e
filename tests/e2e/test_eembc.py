"""hil's firmware in MLPerf Tiny (EEMBC) mode, driven by hil's EEMBC session."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.device.eembc import EembcDut
from hil.errors import BoardFileError, HilError
from hil.firmware.build import build_firmware
from hil.link.eembc import EembcError
from hil.model.file import ModelFile
from tests.e2e.helpers import REPO, pytest_args, run_child


def test_example_suite_over_eembc(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = run_child(
        pytest_args("examples", "--board=corstone300-eembc", f"--hil-report={report}", "-v"),
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hil: corstone300-eembc -> qemu mps3-an547 (no FVP on PATH)" in proc.stdout
    (case,) = json.loads(report.read_text())["cases"]
    assert case["target"].endswith("over EEMBC (hil's firmware)")
    tflm = case["aggregate"]["agreement"]["tflm"]
    assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
    counter = case["aggregate"]["counter"]
    assert counter["kind"] == "device_timer_us" and "m-lap-us" in counter["method"]
    assert case["engine"].startswith("EEMBC firmware: hil-eembc")
    assert case["arena_used_bytes"] is None  # EEMBC cannot report it; no figure is invented


def test_device_side_protocol_errors(models_dir: Path) -> None:
    with EembcDut(resolve(load_board("corstone300-eembc"))) as dut:
        dut.load(ModelFile(models_dir / "hello_world_int8.tflite"))
        s = dut.session
        assert dut.info is not None and dut.info.model == "hello_world_int8"
        with pytest.raises(EembcError, match=r"Unknown command: frobnicate"):
            s.command("frobnicate")
        with pytest.raises(EembcError, match="requires a number of bytes > 0"):
            s.command("db load 0")
        s.command("db load 2")
        with pytest.raises(EembcError, match="Invalid hex digit"):
            s.command("db zz00")
        with pytest.raises(EembcError, match="Input db has 0 bytes, expected 1"):
            s.infer(1, 0)
        with pytest.raises(EembcError, match="Inference iterations must be >0"):
            s.command("infer 0")
        s.load(b"\x10")  # still answers correctly after all that
        run = s.infer(2, 1)
        assert len(run.results) == 1 and run.us_per_inference > 0


def test_link_benchmark_prints_every_method() -> None:
    proc = run_child([sys.executable, "benchmarks/link.py", "--kib", "2", "--runs", "1"], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.endswith("%")]
    assert [r.split("  ")[0] for r in rows] == [
        "raw bytes (DEBUG SINK)",
        "hil protocol (SET_INPUT)",
        "EEMBC hex text (db load, db)",
        "memory: raw bytes (DEBUG SINK)",
        "memory: hil protocol (SET_INPUT)",
    ]


def _prebuilt_board(tmp_path: Path, models_dir: Path, eembc: str) -> Path:
    """A board file beside copies of corstone300(-eembc).toml that names a
    prebuilt image: hil's own EEMBC image, copied out of hil's cache, so hil
    runs it without building anything (as it would an MLPerf Tiny submission)."""
    image = build_firmware(
        load_board("corstone300-eembc"), "eembc", models_dir / "hello_world_int8.tflite"
    )
    (tmp_path / "images").mkdir()
    shutil.copy(image.elf, tmp_path / "images" / "official-hello.elf")
    for name in ("corstone300", "corstone300-eembc"):
        shutil.copy(REPO / "boards" / f"{name}.toml", tmp_path / f"{name}.toml")
    board = tmp_path / "prebuilt.toml"
    board.write_text(
        'extends = "corstone300-eembc"\nname = "prebuilt"\n\n[eembc]\n' + eembc.strip() + "\n"
    )
    return board


def test_example_suite_on_a_prebuilt_eembc_image(tmp_path: Path, models_dir: Path) -> None:
    board = _prebuilt_board(
        tmp_path,
        models_dir,
        'images = { hello_world_int8 = "images/official-hello.elf" }\n'
        'model_ids = { hello_world_int8 = "hello_world_int8" }',
    )
    report = tmp_path / "report.json"
    cache = tmp_path / "cache"  # empty: a build would land here
    proc = run_child(
        pytest_args("examples", f"--board={board}", f"--hil-report={report}"),
        cwd=REPO,
        HIL_CACHE=str(cache),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (case,) = json.loads(report.read_text())["cases"]
    assert case["target"].endswith("over EEMBC (prebuilt firmware)")
    assert case["aggregate"]["agreement"]["tflm"]["matched"] == 100
    digest = hashlib.sha256((tmp_path / "images" / "official-hello.elf").read_bytes())
    assert case["firmware"]["build_id"] == digest.hexdigest()[:16]
    assert not (cache / "firmware").exists()  # nothing was built


def _load_fails(board: Path, model: ModelFile, error: type[Exception], match: str) -> None:
    with EembcDut(resolve(load_board(board))) as dut, pytest.raises(error, match=match):
        dut.load(model)


def test_prebuilt_eembc_image_problems_are_named(tmp_path: Path, models_dir: Path) -> None:
    model = ModelFile(models_dir / "hello_world_int8.tflite")
    board = _prebuilt_board(
        tmp_path,
        models_dir,
        'images = { hello_world_int8 = "images/official-hello.elf", '
        'kws = "images/missing.elf", bad = "prebuilt.toml" }\n'
        'model_ids = { hello_world_int8 = "kws01" }',
    )
    wrong_id = r"reports model 'hello_world_int8', but .* expects 'kws01'"
    _load_fails(board, model, HilError, wrong_id)
    no_image = (
        r"no image for model hello_world_float .*it has images for: bad, hello_world_int8, kws"
    )
    _load_fails(board, ModelFile(models_dir / "hello_world_float.tflite"), BoardFileError, no_image)
    for name, image, match in (
        ("missing", "images/none.elf", r"eembc.images.hello_world_int8: cannot read"),
        ("notelf", "prebuilt.toml", r"is not an ELF file"),
    ):
        other = tmp_path / f"{name}.toml"
        other.write_text(
            f'extends = "corstone300-eembc"\nname = "{name}"\n[eembc]\n'
            f'images = {{ hello_world_int8 = "{image}" }}\n'
        )
        _load_fails(other, model, BoardFileError, match)

"""`hil run` and `hil boards` as a user runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import BOARDS, REPO, run_child

HIL = [sys.executable, "-m", "hil.cli"]


@pytest.mark.parametrize("board_name", BOARDS)
def test_hil_run_100_vectors_exact(board_name: str, models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = run_child(
        [
            *HIL,
            "run",
            str(models_dir / "hello_world_int8.tflite"),
            "--board",
            board_name,
            "--vectors",
            "100",
            "--json",
            str(out),
        ],
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "instructions per inference" in proc.stdout
    result = json.loads(out.read_text())
    assert result["aggregate"]["agreement"]["tflm"]["matched"] == 100
    assert result["aggregate"]["agreement"]["tflm"]["total"] == 100
    assert result["firmware"]["build_id"] and result["backend"] == "qemu"


@pytest.mark.parametrize(
    ("options", "line", "used"),
    [
        ((), "transport memory (the board's fastest of memory, serial)", "memory"),
        (("--transport", "serial"), "transport serial (requested)", "serial"),
    ],
)
def test_hil_run_says_which_transport_and_records_it(
    models_dir: Path, tmp_path: Path, options: tuple[str, ...], line: str, used: str
) -> None:
    out = tmp_path / "out.json"
    model = str(models_dir / "hello_world_int8.tflite")
    proc = run_child(
        [*HIL, "run", model, "--board", "mps2-an386", "--vectors", "3", "--json", str(out),
         *options],
        cwd=REPO,
        COLUMNS="200",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert line in proc.stdout.splitlines()
    assert json.loads(out.read_text())["transport_used"] == used


def test_hil_boards_lists_backends() -> None:
    proc = run_child([*HIL, "boards"], cwd=REPO, COLUMNS="200")
    assert proc.returncode == 0, proc.stderr
    assert "corstone300" in proc.stdout and "no FVP on PATH" in proc.stdout
    assert "memory (the board's fastest of memory, serial)" in proc.stdout


def test_hil_run_reports_errors_with_exit_2(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"not a model at all")
    proc = run_child([*HIL, "run", str(bogus), "--board", "corstone300"], cwd=REPO)
    assert proc.returncode == 2
    assert proc.stdout.startswith("error: ") and "invalid model: not a TFLite model" in proc.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "hil"
    proc = run_child([str(script), "--version"], cwd=REPO)
    assert proc.returncode == 0 and proc.stdout.startswith("hil ")

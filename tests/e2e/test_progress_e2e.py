"""Long work is visible under pytest, with tests' output captured: a firmware
build announces itself in the terminal output of a real run, once, and a
cached image says nothing."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import pytest_args, run_child

SUITE = """
from hil import ModelCase

def test_one(check_model):
    check_model(ModelCase({model!r}, vectors=2, references=("tflm",)))
"""


def test_a_firmware_build_is_announced_in_the_terminal(
    models_dir: Path, tmp_path: Path, process_tag: str
) -> None:
    suite = tmp_path / "test_progress_suite.py"
    suite.write_text(SUITE.format(model=str(models_dir / "hello_world_int8.tflite")))
    cache = tmp_path / "cache"  # empty: the image is built in this run

    def run() -> str:
        proc = run_child(
            pytest_args(str(suite), "--board=corstone300", "--hil-engine=hil", "-q",
                        f"--rootdir={tmp_path}"),
            cwd=tmp_path, HIL_CACHE=str(cache), HIL_PROCESS_TAG=process_tag,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    first = run()
    announced = [line for line in first.splitlines() if line.startswith("hil: build firmware")]
    assert len(announced) == 1, first
    assert announced[0].startswith("hil: build firmware corstone300-release-"), announced
    again = run()
    assert "hil: build" not in again, again

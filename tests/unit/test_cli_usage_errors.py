"""The `hil` command's usage errors, as a user meets them (a child process):
one `error:` line, exit 2, no traceback, before any board, build or emulator
is touched; an output file's missing folder is created, an unusable one refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hostile.make_corpus import good_model

HELLO = "hello_world_int8.tflite"  # one output of one value: not a classifier


def hil(*argv: str, cwd: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "hil.cli", *argv],
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HIL_ENGINE": "hil"},
    )  # fmt: skip
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return proc.returncode, lines


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "fc.tflite"
    path.write_bytes(good_model())
    return path


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (["--vectors", "-3"], "argument --vectors: expected an integer >= 0, got -3"),
        (["--vectors", "ten"], "argument --vectors: expected an integer >= 0, got 'ten'"),
        (["--repeats", "0"], "argument --repeats: expected an integer 1..254, got 0"),
        (["--repeats", "255"], "argument --repeats: expected an integer 1..254, got 255"),
        (["--warmup", "-1"], "argument --warmup: expected an integer 0..65535, got -1"),
        (["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
        (["--sequence-length", "0"], "argument --sequence-length: expected an integer >= 1"),
        (["--energy-inferences", "0"], "argument --energy-inferences: expected an integer >= 1"),
        (["--litert-lsb", "-1"], "argument --litert-lsb: expected an integer >= 0, got -1"),
        (["--timeout", "0"], "argument --timeout: expected a number > 0, got 0"),
        (["--board", "nope"], "no board named 'nope' (known boards: corstone300"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    extra: list[str], expect: str, model: Path, tmp_path: Path
) -> None:
    code, lines = hil("run", str(model), "--board", "corstone300", *extra, cwd=tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expect in lines[0], lines


def test_an_output_folder_that_cannot_be_made_is_refused_before_the_run(
    model: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "sub" / "r.json"
    code, lines = hil("run", str(model), "--board", "nope", "--json", str(out), cwd=tmp_path)
    assert code == 2 and len(lines) == 1, lines  # refused before the board is looked up
    assert lines[0].startswith(f"error: --json {out}: cannot create folder {out.parent}: ")


def test_an_output_folder_is_created_when_missing(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "r.json"
    code, lines = hil("run", str(model), "--board", "nope", "--json", str(out), cwd=tmp_path)
    assert code == 2 and "no board named 'nope'" in lines[0], lines
    assert out.parent.is_dir() and not out.exists()  # the folder is made, no file yet


def test_an_output_that_is_a_folder_is_refused(model: Path, tmp_path: Path) -> None:
    code, lines = hil("run", str(model), "--board", "corstone300", "--json", str(tmp_path),
                      cwd=tmp_path)  # fmt: skip
    assert code == 2 and lines == [f"error: --json {tmp_path}: is a folder, expected a file name"]


def test_a_top1_gate_on_a_model_that_is_not_a_classifier_is_an_error(
    models_dir: Path, tmp_path: Path
) -> None:
    hello = str(models_dir / HELLO)
    code, lines = hil("compare-models", hello, hello, "--board", "corstone300",
                      "--max-top1-drop", "2%", cwd=tmp_path)  # fmt: skip
    assert code == 2 and len(lines) == 1, lines
    assert lines[0] == (
        f"error: --max-top1-drop: {HELLO.removesuffix('.tflite')} is not a classifier "
        "(outputs [1, 1]; top-1 needs one output of more than one class): use --max-abs-error"
    )


def test_compare_models_counts_are_checked(models_dir: Path, tmp_path: Path) -> None:
    hello = str(models_dir / HELLO)
    code, lines = hil("compare-models", hello, hello, "--board", "corstone300",
                      "--vectors", "0", cwd=tmp_path)  # fmt: skip
    assert code == 2 and lines == [
        "error: hil compare-models: argument --vectors: expected an integer >= 1, got 0"
    ]


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (["--limit", "0"], "hil eval: argument --limit: expected an integer >= 1, got 0"),
        (["--top-k", "0"], "hil eval: argument --top-k: expected an integer >= 1, got 0"),
        (["--chunk", "-5"], "hil eval: argument --chunk: expected an integer >= 1, got -5"),
        (["--timeout", "-1"], "hil eval: argument --timeout: expected a number > 0, got -1"),
    ],
)
def test_eval_counts_are_checked(
    extra: list[str], expect: str, model: Path, tmp_path: Path
) -> None:
    code, lines = hil("eval", str(model), "--dataset", "d.npz", "--board", "corstone300", *extra,
                      cwd=tmp_path)  # fmt: skip
    assert code == 2 and lines == [f"error: {expect}"]


def test_eval_output_folder_is_checked_before_the_dataset(model: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a file")
    code, lines = hil("eval", str(model), "--dataset", "missing.npz", "--board", "corstone300",
                      "--json", "f/out.json", cwd=tmp_path)  # fmt: skip
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: --json f/out.json: cannot create folder f: "), lines


@pytest.mark.parametrize(
    ("option", "expect"),
    [
        ("--hil-repeats=0", "argument --hil-repeats: expected an integer 1..254, got 0"),
        ("--hil-warmup=-1", "argument --hil-warmup: expected an integer 0..65535, got -1"),
        ("--hil-timeout=0", "argument --hil-timeout: expected a number > 0, got 0"),
        ("--hil-energy-inferences=0", "argument --hil-energy-inferences: expected an integer >= 1"),
        ("--hil-lock-timeout=-1", "argument --hil-lock-timeout: expected a number >= 0, got -1"),
    ],
)
def test_pytest_options_are_checked_as_they_are_read(
    option: str, expect: str, tmp_path: Path
) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(board):\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:labgrid",
         f"--rootdir={tmp_path}", str(tmp_path), "--board=corstone300", option],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HIL_ENGINE": "hil"},
    )  # fmt: skip
    assert proc.returncode == 4 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: {expect}" in proc.stderr

"""Every CLI failure is one line and exit 2, before any device work: bad input
files, bad ranges, names holding rich markup; read-only commands never write."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from hil.case.model_case import ModelCase
from hil.cli import main
from hil.errors import CaseDefinitionError
from tests.hostile.make_corpus import good_model
from tests.unit.test_results_store import make_row, store_with

MARKUP = "[/x]"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, [line for line in out.out.splitlines() if line.strip()]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "fc.tflite"  # input x: float32 [1, 4]
    path.write_bytes(good_model())
    return path


def _huge_header_npy(path: Path) -> None:
    header = io.BytesIO()
    shape = (100_000, 1_000_000)  # 10^11 elements, 16 bytes of data
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    path.write_bytes(header.getvalue() + b"\0" * 16)


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (_huge_header_npy, "header declares shape [100000, 1000000] of float32"),
        (lambda p: p.write_bytes(b"\x93NUMPY junk"), "not a valid .npy array"),
        (lambda p: p.with_suffix(".npz").write_bytes(b"PK\x03\x04 truncated"), "as an .npz"),
    ],
    ids=["header_claims_1e11_elements", "corrupt_npy", "truncated_npz"],
)
def test_input_files_are_checked_before_any_device(
    make, expect: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.npy"
    make(path)
    given = path if path.exists() else path.with_suffix(".npz")
    args = ["run", str(model), "--inputs", str(given), "--board", "corstone300"]
    code, lines = _run(capsys, *args)
    assert code == 2 and len(lines) == 1, lines
    assert lines[-1].startswith("error: ") and expect in lines[-1]


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (["--float-range", "nan", "nan"], "float range [nan, nan] must be two finite numbers"),
        (["--float-range", "0", "1e309"], "float range [0, inf] must be two finite numbers"),
        (["--float-range", "1", "-1"], "low <= high"),
    ],
)
def test_bad_ranges_are_one_line(
    extra: list[str], expect: str, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _run(capsys, "run", str(model), "--board", "corstone300", *extra)
    assert code == 2 and lines[-1].startswith("error: ") and expect in lines[-1], lines


def test_markup_in_a_model_path_is_printed_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "[").mkdir()
    bad = tmp_path / "[" / "x]bad.tflite"  # the path holds "[/x]"
    bad.write_bytes(b"\0" * 64)
    code, lines = _run(capsys, "run", str(bad), "--board", "corstone300")
    assert code == 2 and "[/x]bad.tflite: invalid model" in lines[-1], lines
    (tmp_path / "[bold]m[").mkdir()
    named = tmp_path / "[bold]m[" / "bold]m.tflite"  # a valid model: the board is next
    named.write_bytes(good_model())
    code, lines = _run(capsys, "run", str(named), "--board", "no[/x]board")
    assert code == 2 and "no[/x]board" in lines[-1], lines


def test_markup_in_stored_names_is_printed_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = store_with(
        tmp_path / "r.db",
        make_row("run-01", instance=f"a{MARKUP}", model=f"m{MARKUP}"),
        make_row("run-02", instance=f"a{MARKUP}", model=f"m{MARKUP}", median=9000.0),
    )
    code, lines = _run(capsys, "results", "regressions", str(db))
    assert code == 1, lines  # the +80% counter: a regression, and the table is printed
    assert any(f"a{MARKUP}" in line and f"m{MARKUP}" in line for line in lines), lines
    code, lines = _run(capsys, "history", f"m{MARKUP}", "--store", str(db))
    assert code == 0 and any(f"a{MARKUP}" in line for line in lines), lines
    assert f"m{MARKUP}" in lines[0]
    code, lines = _run(capsys, "results", "list", str(db))
    assert code == 0 and any(f"a{MARKUP}" in line for line in lines), lines


def test_results_list_never_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, lines = _run(capsys, "results", "list", str(empty))
    assert code == 2 and "is an empty file, not a results store" in lines[-1]
    assert empty.stat().st_size == 0
    missing = tmp_path / "missing.db"
    code, lines = _run(capsys, "results", "list", str(missing))
    assert code == 2 and "no results store at" in lines[-1] and not missing.exists()


def test_a_range_whose_width_overflows_is_refused(model: Path) -> None:
    with pytest.raises(CaseDefinitionError, match="whose difference is finite"):
        ModelCase(model, float_range=(-1e308, 1e308))

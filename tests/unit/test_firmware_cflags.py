"""Extra firmware compiler flags (--hil-cflags, hil run --cflags): checked,
and part of the build digest only when given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hil.boards import load_board
from hil.errors import BuildError
from hil.firmware.build import _inputs_digest, check_cflags, embedded_model_name


@pytest.mark.parametrize(
    "flag",
    ["main.c", "-o", "-oimage.elf", "-Tother.ld", "-Wl,-Map=x.map", "-B/tmp/evil", "-B",
     "-specs=nosys.specs", "-fplugin=./evil.so", "-Wl,-T,other.ld", "-Wa,-adhln", "-I/etc",
     "-include/etc/passwd", "-fprofile-generate", "--sysroot=/tmp", "-DX=$(rm)"],
)  # fmt: skip
def test_flags_that_change_what_is_built_are_refused(flag: str) -> None:
    with pytest.raises(BuildError, match=re.escape(f"extra compiler flag '{flag}': give options")):
        check_cflags([flag])


def test_extra_flags_change_the_build_id_and_none_leave_it() -> None:
    board = load_board("corstone300")
    assert check_cflags(["-O1", "-DSLOW=1"]) == ("-O1", "-DSLOW=1")
    allowed = ["-Os", "-g3", "-UNDEBUG", "-fno-unroll-loops", "-mfloat-abi=soft", "-Wshadow"]
    assert check_cflags(allowed) == tuple(allowed)
    plain = _inputs_digest(board, "release", None)
    assert _inputs_digest(board, "release", None, ()) == plain
    o1 = _inputs_digest(board, "release", None, ("-O1",))
    assert len({plain, o1, _inputs_digest(board, "release", None, ("-O0",))}) == 3


def test_the_eembc_digest_includes_the_model_name(tmp_path: Path) -> None:
    board = load_board("corstone300")
    a, b = tmp_path / "kws.tflite", tmp_path / "vww.tflite"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert _inputs_digest(board, "eembc", a) != _inputs_digest(board, "eembc", b)
    assert embedded_model_name(tmp_path / "a b[1].tflite") == "a_b_1_"

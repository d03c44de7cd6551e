from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hil.errors import InputError
from hil.models import IOSpec
from hil.vectors import check_vector, load_npy_vectors, random_vectors

I8 = IOSpec("in", np.dtype(np.int8), (1, 16), 0.1, -128)
F32 = IOSpec("x", np.dtype(np.float32), (1, 1), 0.0, 0)


def test_random_vectors_are_seeded_and_cover_the_range() -> None:
    a = random_vectors([I8], 200, seed=3)
    b = random_vectors([I8], 200, seed=3)
    c = random_vectors([I8], 200, seed=4)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))
    values = np.concatenate([v[0].ravel() for v in a])
    assert values.min() == -128 and values.max() == 127
    assert a[0][0].dtype == np.int8 and a[0][0].shape == (1, 16)


def test_float_vectors_respect_the_range() -> None:
    v = np.concatenate([x[0].ravel() for x in random_vectors([F32], 100, 0, (0.0, 6.28))])
    assert v.dtype == np.float32 and v.min() >= 0.0 and v.max() <= 6.28


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((1, 16), np.float32), "dtype float32, the model wants int8"),
        (np.zeros((16,), np.int8), r"shape \[16\], the model wants \[1, 16\]"),
    ],
)
def test_check_vector_refuses_wrong_dtype_and_shape(array: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_vector([I8], [array], "here")


def test_check_vector_refuses_nan() -> None:
    with pytest.raises(InputError, match="1 NaN or infinite"):
        check_vector([F32], [np.array([[np.nan]], np.float32)], "here")


def test_npy_single_and_batch(tmp_path: Path) -> None:
    one = tmp_path / "one.npy"
    np.save(one, np.ones((1, 16), np.int8))
    many = tmp_path / "many.npy"
    np.save(many, np.ones((5, 1, 16), np.int8))
    assert len(load_npy_vectors([I8], [one])) == 1
    assert len(load_npy_vectors([I8], [many])) == 5


def test_npy_errors_are_specific(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((3, 3), np.int8))
    with pytest.raises(InputError, match="neither the input's"):
        load_npy_vectors([I8], [wrong])
    with pytest.raises(InputError, match=r"2 \.npy files for a model with 1 inputs"):
        load_npy_vectors([I8], [wrong, wrong])
    with pytest.raises(InputError, match="cannot read"):
        load_npy_vectors([I8], [tmp_path / "missing.npy"])


def test_raw_bin_vectors(tmp_path: Path) -> None:
    one = tmp_path / "one.bin"
    one.write_bytes(bytes(range(16)))
    (vec,) = load_npy_vectors([I8], [one])
    assert vec[0].dtype == np.int8 and vec[0].shape == (1, 16) and vec[0][0, 15] == 15
    two = tmp_path / "two.bin"
    two.write_bytes(bytes(32))
    assert len(load_npy_vectors([I8], [two])) == 2
    odd = tmp_path / "odd.bin"
    odd.write_bytes(bytes(17))
    with pytest.raises(InputError, match="17 bytes is not a whole number of int8 vectors"):
        load_npy_vectors([I8], [odd])

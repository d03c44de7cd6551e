from __future__ import annotations

import numpy as np

from hil.case.compare import EXACT, Tolerance, compare_tensor
from hil.model.tensor import TensorSpec

Q = TensorSpec(np.dtype(np.int8), (1, 4), 0.5, 3, name="out")
F = TensorSpec(np.dtype(np.float32), (3,), 0.0, 0, name="f")


def test_identical_outputs_agree() -> None:
    a = np.array([[1, 2, 3, 4]], dtype=np.int8)
    c = compare_tensor(0, Q, a, a.copy(), "tflm", EXACT)
    assert c.ok and c.n_different == 0 and c.max_abs_diff == 0


def test_one_lsb_fails_exact_and_passes_one_lsb() -> None:
    dev = np.array([[1, 2, 3, 4]], dtype=np.int8)
    ref = np.array([[1, 2, 4, 4]], dtype=np.int8)
    exact = compare_tensor(0, Q, dev, ref, "tflm", EXACT)
    assert not exact.ok and exact.n_outside == 1 and exact.max_abs_diff == 1
    assert compare_tensor(0, Q, dev, ref, "litert", Tolerance(lsb=1)).ok


def test_int8_extremes_do_not_wrap() -> None:
    dev = np.array([[-128, 0, 0, 0]], dtype=np.int8)
    ref = np.array([[127, 0, 0, 0]], dtype=np.int8)
    assert compare_tensor(0, Q, dev, ref, "tflm", EXACT).max_abs_diff == 255


def test_diff_names_tensor_indices_raw_and_dequantized_values() -> None:
    dev = np.array([[1, 2, 3, 9]], dtype=np.int8)
    ref = np.array([[1, 2, 3, 4]], dtype=np.int8)
    text = compare_tensor(0, Q, dev, ref, "tflm", EXACT).describe()
    assert "output 0 'out' vs tflm (exact): 1 of 4 elements outside tolerance" in text
    assert "max |diff| 5 LSB" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("[0, 3]"))
    assert row.split() == ["[0,", "3]", "9", "4", "3", "0.5"]  # (9-3)*0.5, (4-3)*0.5


def test_float_tolerance_and_nan() -> None:
    ref = np.array([1.0, 2.0, np.nan], dtype=np.float32)
    close = np.array([1.000001, 2.0, np.nan], dtype=np.float32)
    tol = Tolerance(atol=0.0, rtol=1e-5)
    assert compare_tensor(0, F, close, ref, "tflm", tol).ok
    assert not compare_tensor(0, F, close, ref, "tflm", EXACT).ok
    nan_vs_number = np.array([1.0, 2.0, 0.0], dtype=np.float32)
    assert not compare_tensor(0, F, nan_vs_number, ref, "tflm", tol).ok


def test_reference_that_departs_from_the_oracle_is_not_held_against_the_device() -> None:
    oracle = np.array([[10, 20, 30, 40]], dtype=np.int8)
    litert = np.array([[10, 22, 30, 40]], dtype=np.int8)  # 2 LSB off the oracle at [0, 1]
    device = oracle.copy()
    c = compare_tensor(0, Q, device, litert, "litert", Tolerance(lsb=1), oracle)
    assert c.ok and c.n_outside == 1 and c.n_excused == 1
    assert "litert itself departs from the exact oracle" in c.describe()
    # A device that is the odd one out is still caught, excused or not elsewhere.
    wrong = np.array([[10, 20, 33, 40]], dtype=np.int8)
    c = compare_tensor(0, Q, wrong, litert, "litert", Tolerance(lsb=1), oracle)
    assert not c.ok and c.n_outside == 2 and c.n_excused == 1
    # Without an oracle nothing is excused.
    assert not compare_tensor(0, Q, device, litert, "litert", Tolerance(lsb=1)).ok

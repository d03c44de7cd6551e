from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hil.errors import InputError
from hil.model.tensor import TensorSpec
from hil.model.vectors import check_vector, load_npy_vectors, random_vectors

I8 = TensorSpec(np.dtype(np.int8), (1, 16), 0.1, -128, name="in")
F32 = TensorSpec(np.dtype(np.float32), (1, 1), 0.0, 0, name="x")


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


# -- sequences, .npz archives and dtype checks (recurrent models) --------------------

I16 = TensorSpec(np.dtype(np.int16), (1, 96), 0.000625, 0, name="audio")
F2 = TensorSpec(np.dtype(np.float32), (2, 3), 0.0, 0, name="state")


def test_npy_sequence_may_leave_out_a_batch_dimension_of_one(tmp_path: Path) -> None:
    """A stream of frames [steps, 96] for an input [1, 96]: one vector per
    step, in order."""
    frames = np.arange(20 * 96, dtype=np.int16).reshape(20, 96)
    path = tmp_path / "seq.npy"
    np.save(path, frames)
    vectors = load_npy_vectors([I16], [path])
    assert len(vectors) == 20
    for n, vector in enumerate(vectors):
        assert vector[0].shape == (1, 96) and np.array_equal(vector[0][0], frames[n])
    np.save(path, frames.reshape(20, 1, 96))  # the full shape: the same vectors
    again = load_npy_vectors([I16], [path])
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(vectors, again, strict=True))


def test_npy_sequence_of_the_wrong_dtype_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "seq.npy"
    np.save(path, np.zeros((20, 96), np.int8))
    with pytest.raises(InputError, match=r"input 0 \(audio\) is int8, the model wants int16"):
        load_npy_vectors([I16], [path])
    np.save(path, np.zeros((20, 95), np.int16))
    with pytest.raises(InputError, match=r"shape \[20, 95\] is neither the input's \[1, 96\]"):
        load_npy_vectors([I16], [path])


def test_npz_one_array_per_input(tmp_path: Path) -> None:
    """Named after the inputs, positional (np.savez), or a lone array for a
    one-input model; the vectors pair element n of every array."""
    a = np.arange(5 * 96, dtype=np.int16).reshape(5, 1, 96)
    b = np.arange(5 * 6, dtype=np.float32).reshape(5, 2, 3)
    named = tmp_path / "named.npz"
    np.savez(named, state=b, audio=a)
    positional = tmp_path / "positional.npz"
    np.savez(positional, a, b)
    for path in (named, positional):
        vectors = load_npy_vectors([I16, F2], [path])
        assert len(vectors) == 5
        assert np.array_equal(vectors[3][0], a[3]) and np.array_equal(vectors[3][1], b[3])
    lone = tmp_path / "lone.npz"
    np.savez(lone, frames=a)
    assert len(load_npy_vectors([I16], [lone])) == 5


def test_npz_errors_are_specific(tmp_path: Path) -> None:
    a = np.zeros((5, 1, 96), np.int16)
    wrong_keys = tmp_path / "keys.npz"
    np.savez(wrong_keys, x=a, y=a)
    with pytest.raises(InputError, match=r"holds arrays \['x', 'y'\]; the model's 2 inputs"):
        load_npy_vectors([I16, F2], [wrong_keys])
    extra = tmp_path / "extra.npz"
    np.savez(extra, audio=a, state=np.zeros((5, 2, 3), np.float32), other=a)
    with pytest.raises(InputError, match=r"arrays \['other'\] match no model input"):
        load_npy_vectors([I16, F2], [extra])
    uneven = tmp_path / "uneven.npz"
    np.savez(uneven, audio=a, state=np.zeros((4, 2, 3), np.float32))
    with pytest.raises(InputError, match=r"different numbers of vectors: \[4, 5\]"):
        load_npy_vectors([I16, F2], [uneven])
    with pytest.raises(InputError, match=r"an \.npz archive must be the only input file"):
        load_npy_vectors([I16, F2], [uneven, uneven])
    wrong_dtype = tmp_path / "dtype.npz"
    np.savez(wrong_dtype, audio=a.astype(np.int32), state=np.zeros((5, 2, 3), np.float32))
    with pytest.raises(InputError, match=r"input 0 \(audio\) is int32, the model wants int16"):
        load_npy_vectors([I16, F2], [wrong_dtype])


def test_shared_int16_model_refuses_int8_sequence(models_dir: Path, tmp_path: Path) -> None:
    """keyword_scrambled takes int16 [1, 96] (and gives int32 [1, 2]): an
    int8 sequence is refused before anything runs, naming both dtypes."""
    from hil.case.model_case import ModelCase
    from hil.case.runner import case_vectors
    from hil.model.file import ModelFile

    model = ModelFile(models_dir / "keyword_scrambled_8bit.tflite")
    assert [(s.dtype, s.shape) for s in model.inputs] == [(np.dtype(np.int16), (1, 96))]
    assert [(s.dtype, s.shape) for s in model.outputs] == [(np.dtype(np.int32), (1, 2))]
    path = tmp_path / "seq.npy"
    np.save(path, np.zeros((20, 96), np.int8))
    case = ModelCase(model.path, vectors=0, inputs=(path,), sequence_length=20)
    with pytest.raises(InputError, match="is int8, the model wants int16"):
        case_vectors(case, model)
    np.save(path, np.zeros((20, 96), np.int16))
    assert len(case_vectors(case, model)) == 20

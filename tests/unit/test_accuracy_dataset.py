"""Labelled datasets: .npz and MLPerf Tiny folders, quantization, shards, and
a clear error for every malformed input."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hil.accuracy.dataset import (
    DatasetError,
    load_dataset,
    model_inputs,
    parse_shard,
    to_model_input,
)
from hil.model.tensor import TensorSpec

INT8_IN = TensorSpec(np.dtype(np.int8), (1, 2, 2, 1), 1 / 255, -128, name="in")
FLOAT_IN = TensorSpec(np.dtype(np.float32), (1, 2, 2, 1), 0.0, 0, name="in")


def npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def test_npz_inputs_and_labels(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 5 * 4, dtype=np.float32).reshape(5, 2, 2, 1)
    ds = load_dataset(npz(tmp_path, x=x, y=np.array([0, 1, 2, 1, 0])))
    assert len(ds) == 5 and ds.num_classes == 3
    assert ds.labels.tolist() == [0, 1, 2, 1, 0]
    (vector,) = model_inputs(ds.samples[4], [INT8_IN])
    assert vector[0].dtype == np.int8 and vector[0].shape == (1, 2, 2, 1)
    # 1.0 / (1/255) - 128 = 127: the model's own input parameters
    assert vector[0].ravel()[-1] == 127


def test_quantization_rounds_half_away_from_zero() -> None:
    spec = TensorSpec(np.dtype(np.int8), (2,), 0.5, 0, name="in")
    q = to_model_input(np.array([0.25, -0.25], dtype=np.float32), spec, "t", None)
    assert q.tolist() == [1, -1]
    clipped = to_model_input(np.array([1000.0, -1000.0]), spec, "t", None)
    assert clipped.tolist() == [127, -128]


def test_data_in_the_model_dtype_is_used_as_is() -> None:
    raw = np.array([-128, 0, 5, 127], dtype=np.int8)
    assert to_model_input(raw, INT8_IN, "t", None).ravel().tolist() == [-128, 0, 5, 127]


def test_integers_of_another_dtype_need_a_scale() -> None:
    pixels = np.array([0, 255, 0, 255], dtype=np.uint8)
    with pytest.raises(DatasetError, match="give an input scale"):
        to_model_input(pixels, INT8_IN, "s", None)
    q = to_model_input(pixels, INT8_IN, "s", 1 / 255)
    assert q.ravel().tolist() == [-128, 127, -128, 127]
    f = to_model_input(pixels, FLOAT_IN, "s", 1 / 255)
    assert f.dtype == np.float32 and f.max() == pytest.approx(1.0)


def test_wrong_size_and_nan_are_errors() -> None:
    with pytest.raises(DatasetError, match=r"does not fit the model input \[1, 2, 2, 1\]"):
        to_model_input(np.zeros(5, np.float32), INT8_IN, "sample 3", None)
    with pytest.raises(DatasetError, match="NaN"):
        to_model_input(np.full(4, np.nan, np.float32), INT8_IN, "s", None)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"a": np.zeros(3)}, "expected inputs under one of"),
        ({"x": np.zeros((3, 4)), "y": np.zeros(2, np.int64)}, "3 inputs but 2 labels"),
        ({"x": np.zeros((2, 4)), "y": np.array([0.5, 1.0])}, "labels must be integers"),
        ({"x": np.zeros((2, 4)), "y": np.array([-1, 1])}, "negative"),
        ({"x": np.zeros((2, 4)), "y": np.zeros((2, 2), np.int64)}, "one integer per sample"),
        ({"x": np.zeros((0, 4)), "y": np.zeros(0, np.int64)}, "no samples"),
    ],
)
def test_malformed_npz(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_dataset(npz(tmp_path, **arrays))


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DatasetError, match=r"expected an .npz or a folder"):
        load_dataset(tmp_path / "x.txt")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="cannot read dataset"):
        load_dataset(tmp_path / "bad.npz")


def write_folder(tmp_path: Path) -> Path:
    root = tmp_path / "set"
    root.mkdir(parents=True)
    np.save(root / "a.npy", np.full((2, 2), 0.6, np.float32))
    (root / "b.bin").write_bytes(np.arange(4, dtype=np.int8).tobytes())
    Image.fromarray(np.full((2, 2), 255, np.uint8), mode="L").save(root / "c.png")
    Image.fromarray(np.zeros((2, 2), np.uint8), mode="L").save(root / "d.bmp")
    with wave.open(str(root / "e.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.array([1, -2, 3, -4], "<i2").tobytes())
    (root / "y_labels.csv").write_text(
        "a.npy,3,0\nb.bin,3,1\nc.png,3,2\nd.bmp,3,2\ne.wav,3,1\n"
    )
    (root / "labels.txt").write_text("zero\none\ntwo\n")
    return root


def test_folder_of_samples(tmp_path: Path) -> None:
    ds = load_dataset(write_folder(tmp_path))
    assert [s.name for s in ds.samples] == ["a.npy", "b.bin", "c.png", "d.bmp", "e.wav"]
    assert ds.labels.tolist() == [0, 1, 2, 2, 1] and ds.num_classes == 3
    assert ds.class_names == ["zero", "one", "two"]
    a, b, c, _, e = ds.samples
    assert model_inputs(a, [INT8_IN])[0][0].ravel().tolist() == [25] * 4  # 0.6*255-128
    assert model_inputs(b, [INT8_IN])[0][0].ravel().tolist() == [0, 1, 2, 3]
    assert c.windows[0].dtype == np.uint8 and c.windows[0].max() == 255
    assert e.windows[0].tolist() == [1, -2, 3, -4]


def test_mlperf_windows(tmp_path: Path) -> None:
    root = tmp_path / "ad"
    root.mkdir()
    (root / "clip.bin").write_bytes(np.arange(10, dtype="<f4").tobytes())
    (root / "y_labels.csv").write_text("clip.bin,2,1,16,8\n")
    ds = load_dataset(root, bin_dtype="float32")
    windows = ds.samples[0].windows
    assert [w.tolist() for w in windows] == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [6, 7, 8, 9]]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("", "no samples"),
        ("a.npy,3\n", "got 2 fields"),
        ("a.npy,three,0\n", "must be integers"),
        ("a.npy,3,3\n", r"class 3 is outside 0\.\.2"),
        ("a.npy,3,0\nb.bin,4,0\n", "earlier rows say 3"),
        ("missing.npy,3,0\n", "does not exist"),
        ("../x.npy,3,0\n", "outside the dataset folder"),
        ("a.npy,3,0,7,8\n", "do not fit float32"),
    ],
)
def test_malformed_labels_csv(tmp_path: Path, csv_text: str, message: str) -> None:
    root = write_folder(tmp_path)
    (root / "y_labels.csv").write_text(csv_text)
    with pytest.raises(DatasetError, match=message):
        load_dataset(root)


def test_malformed_sample_files(tmp_path: Path) -> None:
    root = write_folder(tmp_path)
    (root / "c.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"c.png: not a readable image"):
        load_dataset(root)
    root = write_folder(tmp_path / "2")
    (root / "b.bin").write_bytes(b"\x00" * 5)
    with pytest.raises(DatasetError, match="not a whole number of int16"):
        load_dataset(root, bin_dtype="int16")
    with pytest.raises(DatasetError, match=r"no y_labels.csv"):
        load_dataset(tmp_path)


def test_shards_partition_the_dataset(tmp_path: Path) -> None:
    x = np.zeros((10, 4), np.float32)
    ds = load_dataset(npz(tmp_path, x=x, y=np.arange(10) % 3))
    one, two = ds.take_shard(1, 2), ds.take_shard(2, 2)
    assert [s.index for s in one.samples] == [0, 2, 4, 6, 8]
    assert [s.index for s in two.samples] == [1, 3, 5, 7, 9]
    assert one.fingerprint() != ds.fingerprint() == one.whole_fingerprint == two.whole_fingerprint
    with pytest.raises(DatasetError, match="already shard"):
        one.take_shard(1, 2)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/2", "0/2", "x", "1/0"):
        with pytest.raises(DatasetError, match="shard"):
            parse_shard(bad)

"""A labelled dataset: an .npz of inputs and labels, or a folder of per-sample
files indexed by a labels CSV in MLPerf Tiny's `y_labels.csv` layout
(`file,num_classes,class[,window_bytes,stride_bytes]`)."""

from __future__ import annotations

import csv
import hashlib
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hil.errors import HilError
from hil.model.tensor import TensorSpec

LABELS_CSV = "y_labels.csv"
SAMPLE_SUFFIXES = (".npy", ".bin", ".wav", ".bmp", ".png")
INPUT_KEYS = ("x", "inputs", "arr_0")
LABEL_KEYS = ("y", "labels", "arr_1")


class DatasetError(HilError):
    """A dataset is missing, malformed, or does not fit the model."""


@dataclass(frozen=True)
class Sample:
    """One labelled sample: one or more model inputs (windows of one file)."""

    index: int  # position in the whole dataset (kept by shards)
    name: str
    label: int
    windows: tuple[np.ndarray, ...]


@dataclass
class Dataset:
    name: str
    source: str
    samples: list[Sample]
    num_classes: int
    class_names: list[str] = field(default_factory=list)
    shard: tuple[int, int] = (1, 1)  # k of n
    whole_fingerprint: str = ""  # of the dataset a shard was taken from

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    def fingerprint(self) -> str:
        """A hash of every input and label (not of the shard): what resuming
        and merging check that two evaluations saw the same data."""
        h = hashlib.sha256()
        for s in self.samples:
            h.update(f"{s.index}:{s.name}:{s.label}".encode())
            for w in s.windows:
                h.update(w.dtype.str.encode())
                h.update(np.ascontiguousarray(w).tobytes())
        return h.hexdigest()[:16]

    def take_shard(self, k: int, n: int) -> Dataset:
        """Shard k of n (1-based): every n-th sample from the k-th, so each
        shard sees every class."""
        if n < 1 or not 1 <= k <= n:
            raise DatasetError(f"shard {k} of {n}: expected 1 <= k <= n")
        if self.shard != (1, 1):
            raise DatasetError(f"{self.name} is already shard {self.shard[0]} of {self.shard[1]}")
        return Dataset(
            self.name,
            self.source,
            self.samples[k - 1 :: n],
            self.num_classes,
            self.class_names,
            (k, n),
            self.fingerprint(),
        )


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' or '2of4' -> (2, 4)."""
    parts = text.replace("of", "/").split("/")
    try:
        k, n = (int(p) for p in parts)
    except ValueError:
        raise DatasetError(f"shard {text!r}: expected K/N, e.g. 1/2") from None
    if n < 1 or not 1 <= k <= n:
        raise DatasetError(f"shard {text!r}: expected 1 <= K <= N")
    return k, n


def _class_names(path: Path | None, num_classes: int) -> list[str]:
    if path is None:
        return []
    try:
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise DatasetError(f"cannot read class names {path}: {exc}") from exc
    if len(names) < num_classes:
        raise DatasetError(f"{path}: {len(names)} class names for {num_classes} classes")
    return names


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.ndim != 1:
        raise DatasetError(f"{where}: labels must be one integer per sample, got shape {y.shape}")
    whole = np.issubdtype(y.dtype, np.floating) and np.all(np.equal(np.mod(y, 1), 0))
    if not np.issubdtype(y.dtype, np.integer) and not whole:
        raise DatasetError(f"{where}: labels must be integers, got {y.dtype}")
    if len(y) and int(y.min()) < 0:
        raise DatasetError(f"{where}: label {int(y.min())} is negative")
    return y.astype(np.int64)


def load_npz(path: Path, class_names: Path | None = None) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc}") from exc
    xkey = next((k for k in INPUT_KEYS if k in arrays), None)
    ykey = next((k for k in LABEL_KEYS if k in arrays), None)
    if xkey is None or ykey is None:
        raise DatasetError(
            f"{path}: expected inputs under one of {INPUT_KEYS} and labels under one of "
            f"{LABEL_KEYS}; found {sorted(arrays)}"
        )
    x, y = arrays[xkey], _labels(arrays[ykey], str(path))
    if x.ndim < 1 or len(x) != len(y):
        raise DatasetError(f"{path}: {len(x) if x.ndim else 0} inputs but {len(y)} labels")
    if len(y) == 0:
        raise DatasetError(f"{path}: no samples")
    if x.dtype == object:
        raise DatasetError(f"{path}: inputs must be a numeric array, got {x.dtype}")
    num_classes = int(y.max()) + 1
    samples = [Sample(i, f"#{i}", int(y[i]), (x[i],)) for i in range(len(y))]
    names = _class_names(class_names, num_classes)
    return Dataset(path.stem, str(path), samples, max(num_classes, len(names)), names)


def _read_sample(path: Path, bin_dtype: np.dtype) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.asarray(np.load(path, allow_pickle=False))
        if suffix == ".bin":
            raw = path.read_bytes()
            if len(raw) % bin_dtype.itemsize:
                raise DatasetError(
                    f"{path}: {len(raw)} bytes is not a whole number of {bin_dtype.name} values"
                )
            return np.frombuffer(raw, dtype=bin_dtype.newbyteorder("<"))
        if suffix == ".wav":
            with wave.open(str(path), "rb") as w:
                if w.getsampwidth() != 2:
                    bits = 8 * w.getsampwidth()
                    raise DatasetError(f"{path}: {bits}-bit WAV; expected 16-bit PCM")
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
                return pcm.reshape(-1, w.getnchannels()).squeeze()
        if suffix in (".bmp", ".png"):
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(path) as img:
                    mode = "L" if img.mode in ("L", "P", "1") else "RGB"
                    return np.asarray(img.convert(mode), dtype=np.uint8)
            except UnidentifiedImageError as exc:
                raise DatasetError(f"{path}: not a readable image ({exc})") from exc
    except (OSError, ValueError, EOFError, wave.Error) as exc:
        raise DatasetError(f"cannot read sample {path}: {exc}") from exc
    raise DatasetError(f"{path}: unknown sample type {suffix!r}; expected one of {SAMPLE_SUFFIXES}")


def _windows(data: np.ndarray, window: int, stride: int, where: str) -> tuple[np.ndarray, ...]:
    """MLPerf Tiny's windows over a flat file (sizes in bytes)."""
    flat = data.reshape(-1).view(np.uint8)
    if window <= 0 or stride <= 0 or window % data.itemsize or stride % data.itemsize:
        raise DatasetError(
            f"{where}: window {window} / stride {stride} bytes do not fit {data.dtype}"
        )
    if len(flat) < window:
        raise DatasetError(f"{where}: {len(flat)} bytes is shorter than one window ({window})")
    starts = range(0, len(flat) - window + 1, stride)
    return tuple(flat[s : s + window].view(data.dtype) for s in starts)


def load_folder(
    path: Path, bin_dtype: np.dtype | None = None, class_names: Path | None = None
) -> Dataset:
    """A folder holding y_labels.csv and the files it names (or the CSV itself)."""
    csv_path = path / LABELS_CSV if path.is_dir() else path
    root = csv_path.parent
    if not csv_path.is_file():
        raise DatasetError(f"{path}: no {LABELS_CSV} (file,num_classes,class per row)")
    rows = []
    try:
        with csv_path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {csv_path}: {exc}") from exc
    if not rows:
        raise DatasetError(f"{csv_path}: no samples")
    samples, num_classes = [], None
    for line, row in enumerate(rows, 1):
        where = f"{csv_path}:{line}"
        if len(row) not in (3, 5):
            raise DatasetError(
                f"{where}: expected file,num_classes,class[,window_bytes,stride_bytes], "
                f"got {len(row)} fields"
            )
        try:
            n, label, *ws = (int(c) for c in row[1:])
        except ValueError:
            raise DatasetError(
                f"{where}: num_classes, class and window sizes must be integers"
            ) from None
        if n < 1 or not 0 <= label < n:
            raise DatasetError(f"{where}: class {label} is outside 0..{n - 1}")
        if num_classes is not None and n != num_classes:
            raise DatasetError(f"{where}: num_classes {n}, earlier rows say {num_classes}")
        num_classes = n
        name = row[0].strip()
        file = (root / name).resolve()
        if not file.is_relative_to(root.resolve()):
            raise DatasetError(f"{where}: {name!r} is outside the dataset folder")
        if not file.is_file():
            raise DatasetError(f"{where}: sample file {name} does not exist")
        data = _read_sample(file, np.dtype(bin_dtype or np.int8))
        windows = _windows(data, ws[0], ws[1], where) if ws else (data,)
        samples.append(Sample(line - 1, name, label, windows))
    assert num_classes is not None
    names = class_names or (root / "labels.txt" if (root / "labels.txt").is_file() else None)
    return Dataset(root.name, str(csv_path), samples, num_classes, _class_names(names, num_classes))


def load_dataset(
    path: str | Path, *, bin_dtype: str | None = None, class_names: str | Path | None = None
) -> Dataset:
    """An .npz, or a folder (or its y_labels.csv) of per-sample files."""
    p = Path(path)
    names = Path(class_names) if class_names else None
    try:
        dtype = np.dtype(bin_dtype) if bin_dtype else None
    except TypeError:
        raise DatasetError(f"unknown dtype {bin_dtype!r} for .bin samples") from None
    if not p.exists():
        raise DatasetError(f"dataset {p} does not exist")
    if p.suffix == ".npz":
        return load_npz(p, names)
    if p.is_dir() or p.suffix == ".csv":
        return load_folder(p, dtype, names)
    raise DatasetError(f"dataset {p}: expected an .npz or a folder with {LABELS_CSV}")


def to_model_input(
    x: np.ndarray, spec: TensorSpec, where: str, input_scale: float | None
) -> np.ndarray:
    """One stored input as the model takes it. Data already in the model's
    dtype is used as is; floats are quantized with the model's own input scale
    and zero point (round half away from zero, as TFLite's quantize does);
    integers of another dtype become reals by `input_scale` first."""
    if int(np.prod(x.shape)) != int(np.prod(spec.shape)):
        raise DatasetError(
            f"{where}: {list(x.shape)} ({x.size} values) does not fit the model input "
            f"{list(spec.shape)}"
        )
    x = x.reshape(spec.shape)
    if x.dtype == spec.dtype:
        return x
    if np.issubdtype(x.dtype, np.integer):
        if input_scale is None:
            raise DatasetError(
                f"{where}: {x.dtype} data for a {spec.dtype} input; give an input scale "
                "(e.g. 1/255 for 8-bit pixels) to turn it into real values"
            )
        x = x.astype(np.float64) * input_scale
    elif not np.issubdtype(x.dtype, np.floating):
        raise DatasetError(f"{where}: unsupported data type {x.dtype}")
    elif input_scale is not None:
        x = x.astype(np.float64) * input_scale
    if not np.all(np.isfinite(x)):
        raise DatasetError(f"{where}: NaN or infinity in the input")
    if np.issubdtype(spec.dtype, np.integer):
        if not spec.quantized:
            raise DatasetError(f"{where}: float data for an unquantized {spec.dtype} input")
        info = np.iinfo(spec.dtype)
        q = x / spec.scale
        q = np.sign(q) * np.floor(np.abs(q) + 0.5) + spec.zero_point
        return np.clip(q, info.min, info.max).astype(spec.dtype)
    return x.astype(spec.dtype)


def model_inputs(
    sample: Sample, specs: Sequence[TensorSpec], input_scale: float | None = None
) -> list[list[np.ndarray]]:
    """Each window of a sample as a vector for a single-input model."""
    if len(specs) != 1:
        raise DatasetError(f"datasets feed single-input models; this one has {len(specs)} inputs")
    return [
        [to_model_input(w, specs[0], f"sample {sample.name}", input_scale)] for w in sample.windows
    ]

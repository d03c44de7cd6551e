"""Input vectors for a model: seeded random ones within each input's range, or
arrays from .npy files, checked against the model before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hil.errors import InputError
from hil.models import IOSpec

Vector = list[np.ndarray]  # one array per model input


def random_vectors(
    specs: Sequence[IOSpec], count: int, seed: int, float_range: tuple[float, float] = (-1.0, 1.0)
) -> list[Vector]:
    """`count` vectors drawn uniformly over each input's whole integer range
    (quantized inputs) or over `float_range` (float inputs)."""
    rng = np.random.default_rng(seed)
    vectors = []
    for _ in range(count):
        vector = []
        for spec in specs:
            if np.issubdtype(spec.dtype, np.integer):
                info = np.iinfo(spec.dtype)
                data = rng.integers(
                    info.min, info.max, size=spec.shape, endpoint=True, dtype=spec.dtype
                )
            elif spec.dtype == np.bool_:
                data = rng.integers(0, 1, size=spec.shape, endpoint=True).astype(np.bool_)
            else:
                lo, hi = float_range
                data = rng.uniform(lo, hi, size=spec.shape).astype(spec.dtype)
            vector.append(data)
        vectors.append(vector)
    return vectors


def check_vector(specs: Sequence[IOSpec], vector: Sequence[np.ndarray], where: str) -> None:
    """Refuse a vector that the model would misread."""
    if len(vector) != len(specs):
        raise InputError(f"{where}: {len(vector)} arrays for a model with {len(specs)} inputs")
    for i, (spec, data) in enumerate(zip(specs, vector, strict=True)):
        if data.dtype != spec.dtype:
            raise InputError(
                f"{where}: input {i} ({spec.name or 'unnamed'}) has dtype {data.dtype}, "
                f"the model wants {spec.dtype}"
            )
        if tuple(data.shape) != tuple(spec.shape):
            raise InputError(
                f"{where}: input {i} ({spec.name or 'unnamed'}) has shape {list(data.shape)}, "
                f"the model wants {list(spec.shape)}"
            )
        if np.issubdtype(data.dtype, np.floating) and not np.all(np.isfinite(data)):
            bad = int(np.count_nonzero(~np.isfinite(data)))
            raise InputError(f"{where}: input {i} holds {bad} NaN or infinite values")


def _read_array(path: str | Path, spec: IOSpec) -> np.ndarray:
    """A .npy array, or a raw .bin of the input's dtype (one vector or several)."""
    if Path(path).suffix == ".bin":
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        per_vector = int(np.prod(spec.shape)) * spec.dtype.itemsize
        if per_vector == 0 or len(raw) % per_vector:
            raise InputError(
                f"{path}: {len(raw)} bytes is not a whole number of {spec.dtype} vectors "
                f"of shape {list(spec.shape)} ({per_vector} bytes each)"
            )
        return np.frombuffer(raw, dtype=spec.dtype).reshape(-1, *spec.shape).copy()
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as a .npy array: {exc}") from exc


def load_npy_vectors(specs: Sequence[IOSpec], paths: Sequence[str | Path]) -> list[Vector]:
    """One file per model input, each holding one vector (the input's shape) or
    a batch of them (N followed by the input's shape): .npy, or raw .bin bytes
    in the input's dtype."""
    if len(paths) != len(specs):
        raise InputError(
            f"{len(paths)} .npy files for a model with {len(specs)} inputs "
            "(give one file per input, in model order)"
        )
    arrays = []
    for path, spec in zip(paths, specs, strict=True):
        data = _read_array(path, spec)
        if tuple(data.shape) == tuple(spec.shape):
            data = data[np.newaxis]
        elif tuple(data.shape[1:]) != tuple(spec.shape):
            raise InputError(
                f"{path}: shape {list(data.shape)} is neither the input's {list(spec.shape)} "
                f"nor a batch of it [N, {', '.join(map(str, spec.shape))}]"
            )
        arrays.append(data)
    counts = {len(a) for a in arrays}
    if len(counts) != 1:
        raise InputError(f"the .npy files hold different numbers of vectors: {sorted(counts)}")
    vectors = [[a[n] for a in arrays] for n in range(counts.pop())]
    for n, vector in enumerate(vectors):
        check_vector(specs, vector, f"vector {n} from {', '.join(map(str, paths))}")
    return vectors

"""Input vectors for a model: seeded random ones within each input's range, or
arrays from .npy files, checked against the model before anything runs."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from hil.errors import InputError
from hil.model.tensor import TensorSpec

Vector = list[np.ndarray]  # one array per model input


def random_vectors(
    specs: Sequence[TensorSpec],
    count: int,
    seed: int,
    float_range: tuple[float, float] = (-1.0, 1.0),
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


def check_vector(specs: Sequence[TensorSpec], vector: Sequence[np.ndarray], where: str) -> None:
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


#: No input file may hold more than this: far above any model's inputs, far
#: below what would exhaust the host.
MAX_INPUT_BYTES = 1 << 30


def _check_npy_header(fp: IO[bytes], available: int, where: str) -> None:
    """Refuse a .npy whose header is malformed or whose array would not be the
    data that follows it, before numpy allocates anything for it."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise InputError(f"{where}: not a valid .npy array (format version {version})")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise InputError(f"{where}: not a valid .npy array ({exc})") from exc
    count = 1
    for dim in shape:
        count *= dim
    if dtype.hasobject:
        raise InputError(f"{where}: holds Python objects; hil reads numeric arrays only")
    nbytes = count * dtype.itemsize
    data = available - fp.tell()
    if nbytes > MAX_INPUT_BYTES:
        raise InputError(
            f"{where}: header declares shape {list(shape)} of {dtype} ({nbytes:,} bytes), "
            f"more than hil's limit of {MAX_INPUT_BYTES:,}"
        )
    if nbytes != data:
        raise InputError(
            f"{where}: header declares shape {list(shape)} of {dtype} ({nbytes:,} bytes) but "
            f"{data:,} bytes of data follow (truncated or corrupt)"
        )


def _load_npy(path: str | Path) -> np.ndarray:
    try:
        with open(path, "rb") as fp:
            _check_npy_header(fp, os.fstat(fp.fileno()).st_size, str(path))
        return np.asarray(np.load(path, allow_pickle=False))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputError(f"cannot read {path} as a .npy array: {exc}") from exc


def _read_array(path: str | Path, spec: TensorSpec) -> np.ndarray:
    """A .npy array, or a raw .bin of the input's dtype (one vector or several)."""
    if Path(path).suffix == ".bin":
        try:
            size = Path(path).stat().st_size
            if size > MAX_INPUT_BYTES:
                raise InputError(f"{path}: {size:,} bytes, more than hil's limit of "
                                 f"{MAX_INPUT_BYTES:,}")  # fmt: skip
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        per_vector = int(np.prod(spec.shape)) * spec.dtype.itemsize
        if per_vector == 0 or len(raw) % per_vector:
            raise InputError(
                f"{path}: {len(raw)} bytes is not a whole number of {spec.dtype} vectors "
                f"of shape {list(spec.shape)} ({per_vector} bytes each)"
            )
        return np.asarray(np.frombuffer(raw, dtype=spec.dtype).reshape(-1, *spec.shape).copy())
    if Path(path).suffix == ".npz" or _is_zip(path):
        raise InputError(f"{path}: an .npz archive must be the only input file")
    return _load_npy(path)


def _is_zip(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fp:
            return fp.read(4) == b"PK\x03\x04"
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_npz(path: str | Path, specs: Sequence[TensorSpec]) -> list[np.ndarray]:
    """The arrays of an .npz, one per model input: named after the inputs, or
    positional (np.savez's arr_0, arr_1, ...), or a lone array for a
    one-input model."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    _check_npy_header(member, info.file_size, f"{path}: array {key!r}")
                with archive.open(info) as member:
                    arrays[key] = np.asarray(np.load(member, allow_pickle=False))
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(f"cannot read {path} as an .npz archive: {exc}") from exc
    names = [spec.name for spec in specs]
    positional = [f"arr_{i}" for i in range(len(specs))]
    if len(set(names)) == len(names) and all(n in arrays for n in names):
        keys = names
    elif all(k in arrays for k in positional):
        keys = positional
    elif len(specs) == 1 and len(arrays) == 1:
        keys = list(arrays)
    else:
        raise InputError(
            f"{path} holds arrays {sorted(arrays)}; the model's {len(specs)} inputs want one "
            f"array each, named {names} or {positional}"
        )
    extra = sorted(set(arrays) - set(keys))
    if extra:
        raise InputError(f"{path}: arrays {extra} match no model input (inputs: {keys})")
    return [arrays[k] for k in keys]


def _as_batch(data: np.ndarray, spec: TensorSpec, path: str | Path) -> np.ndarray:
    """[N, *shape] from one vector (the input's shape), a batch or sequence of
    them ([N, *shape]), or, for an input with a leading batch dimension of 1,
    a sequence that leaves it out ([N, *shape[1:]])."""
    shape = tuple(spec.shape)
    if tuple(data.shape) == shape:
        return data[np.newaxis]
    if tuple(data.shape[1:]) == shape:
        return data
    if shape and shape[0] == 1 and data.ndim == len(shape) and tuple(data.shape[1:]) == shape[1:]:
        return data.reshape(len(data), *shape)
    described = ", ".join(map(str, shape))
    raise InputError(
        f"{path}: shape {list(data.shape)} is neither the input's {list(shape)} "
        f"nor a batch or sequence of it [N, {described}]"
    )


def load_npy_vectors(specs: Sequence[TensorSpec], paths: Sequence[str | Path]) -> list[Vector]:
    """One file per model input, each holding one vector (the input's shape) or
    a batch or sequence of them ([N, *shape]; a leading batch dimension of 1
    may be left out): .npy, or raw .bin bytes in the input's dtype. Or a single
    .npz holding one such array per input (see _read_npz). Vector n takes
    element n of every array, in order: the steps of a sequence."""
    if len(paths) == 1 and Path(paths[0]).suffix == ".npz":
        sources = [str(paths[0])] * len(specs)
        arrays = _read_npz(paths[0], specs)
    else:
        if len(paths) != len(specs):
            raise InputError(
                f"{len(paths)} .npy files for a model with {len(specs)} inputs "
                "(give one file per input, in model order, or one .npz holding them all)"
            )
        sources = [str(p) for p in paths]
        arrays = [_read_array(path, spec) for path, spec in zip(paths, specs, strict=True)]
    batches = []
    for i, (data, spec, source) in enumerate(zip(arrays, specs, sources, strict=True)):
        if data.dtype != spec.dtype:
            raise InputError(
                f"{source}: input {i} ({spec.name or 'unnamed'}) is {data.dtype}, the model "
                f"wants {spec.dtype} (convert it; hil does not cast inputs)"
            )
        batches.append(_as_batch(data, spec, source))
    counts = {len(a) for a in batches}
    if len(counts) != 1:
        raise InputError(f"the input files hold different numbers of vectors: {sorted(counts)}")
    vectors = [[a[n] for a in batches] for n in range(counts.pop())]
    for n, vector in enumerate(vectors):
        check_vector(specs, vector, f"vector {n} from {', '.join(dict.fromkeys(sources))}")
    return vectors

"""TFLite tensor type codes and their numpy dtypes: one table for the model
file, the device protocol and the host engine binding."""

from __future__ import annotations

import numpy as np

# TFLite TensorType codes (schema.fbs) hil knows.
TFLITE_DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.float16),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
    10: np.dtype(np.float64),
    12: np.dtype(np.uint64),
    15: np.dtype(np.uint32),
    16: np.dtype(np.uint16),
}

# The codes a model's inputs and outputs may have, as the device reports them.
DEVICE_CODES = (0, 2, 3, 4, 6, 7, 9)
DTYPES: dict[int, np.dtype] = {code: TFLITE_DTYPES[code] for code in DEVICE_CODES}

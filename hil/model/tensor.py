"""A tensor's spec, one type for what the model file, the device and the host
engine each say of a graph input or output."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    dtype: np.dtype
    shape: tuple[int, ...]
    scale: float = 0.0  # 0.0 when not quantized
    zero_point: int = 0
    name: str = ""  # the model file's name for it; "" where a device or engine reports it
    # Bytes as the device or engine reports them; from shape and dtype when not given.
    nbytes: int = field(default=-1, compare=False)

    def __post_init__(self) -> None:
        if self.nbytes < 0:
            count = int(np.prod(self.shape)) if self.shape else 1
            object.__setattr__(self, "nbytes", count * self.dtype.itemsize)

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0

    def describe(self) -> str:
        quant = f" s={self.scale:.6g} zp={self.zero_point}" if self.quantized else ""
        return f"{self.name or '(unnamed)'} {list(self.shape)} {self.dtype.name}{quant}"

"""The interface every host reference implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np


class ReferenceUnavailable(Exception):
    """This reference cannot run this model (not installed, or refuses it)."""


class Reference(abc.ABC):
    name: str = ""
    #: "exact": the device must match bit for bit; "tolerance": within a stated bound.
    agreement: str = "tolerance"

    @property
    @abc.abstractmethod
    def version(self) -> str: ...

    @abc.abstractmethod
    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One inference: inputs in model order -> outputs in model order."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Put the model's state (variable tensors) back to its initial values."""

    def arena_used_bytes(self) -> int | None:
        """The reference's own arena use for this model, where it reports one."""
        return None

    def close(self) -> None:
        """Release what the reference holds (a worker process, an interpreter)."""
        return None

"""Host references that run the same model and vectors as the device."""

from hil.references.base import Reference, ReferenceUnavailable
from hil.references.litert import LiteRtReference
from hil.references.tflm import TflmReference

__all__ = [
    "LiteRtReference",
    "Reference",
    "ReferenceUnavailable",
    "TflmReference",
    "make_references",
]


def make_references(
    model: bytes,
    n_outputs: int,
    names: tuple[str, ...] = ("tflm", "litert"),
    litert_resolver: str = "ref",
) -> tuple[list[Reference], dict[str, str]]:
    """The references that can run this model, and why the others cannot."""
    available: list[Reference] = []
    unavailable: dict[str, str] = {}
    for name in names:
        try:
            if name == "tflm":
                available.append(TflmReference(model, n_outputs))
            elif name == "litert":
                available.append(LiteRtReference(model, litert_resolver))
            else:
                raise ValueError(f"unknown reference {name!r} (known: tflm, litert)")
        except ReferenceUnavailable as exc:
            unavailable[name] = str(exc)
    return available, unavailable

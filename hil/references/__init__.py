"""Host references that run the same model and vectors as the device."""

from hil.references.base import Reference, ReferenceUnavailable
from hil.references.isolated import IsolatedReference, ReferenceCrashed
from hil.references.litert import RESOLVERS as LITERT_RESOLVERS
from hil.references.litert import LiteRtReference
from hil.references.tflm import TflmReference

__all__ = [
    "IsolatedReference",
    "LiteRtReference",
    "Reference",
    "ReferenceCrashed",
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
    """The references that can run this model, and why the others cannot;
    each runs in a worker process of its own, so a crash in one cannot take
    hil's process with it."""
    starting: list[tuple[str, IsolatedReference]] = []
    unavailable: dict[str, str] = {}
    for name in names:
        try:
            if name == "tflm":
                starting.append((name, IsolatedReference("tflm", model, n_outputs=n_outputs)))
            elif name == "litert":
                if litert_resolver not in LITERT_RESOLVERS:
                    raise ValueError(
                        f"unknown LiteRT resolver {litert_resolver!r} (known: {LITERT_RESOLVERS})"
                    )
                starting.append(
                    (name, IsolatedReference("litert", model, resolver=litert_resolver))
                )
            else:
                raise ValueError(f"unknown reference {name!r} (known: tflm, litert)")
        except ReferenceUnavailable as exc:
            unavailable[name] = str(exc)
    # All workers start at once; their interpreter start-ups overlap.
    available: list[Reference] = []
    for name, ref in starting:
        try:
            available.append(ref.ready())
        except ReferenceUnavailable as exc:
            unavailable[name] = str(exc)
    return available, unavailable

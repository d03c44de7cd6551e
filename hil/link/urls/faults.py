"""What faulty:// does to bytes: per-byte, per-direction rates (drop, corrupt
one bit, duplicate, delay) from a seeded generator, so a run is reproducible
byte for byte, and the counts of what it did. The URL's query string is parsed
here (docs/robustness.md)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from urllib.parse import parse_qsl

RATE_KEYS = ("drop", "corrupt", "duplicate", "delay")


@dataclass(frozen=True)
class FaultRates:
    """Per-byte probabilities for one direction."""

    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    max_delay_s: float = 0.005

    def __post_init__(self) -> None:
        for name in RATE_KEYS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} rate must be within [0, 1], got {value}")
        if self.max_delay_s < 0:
            raise ValueError(f"max_delay must be >= 0 s, got {self.max_delay_s}")

    def query(self) -> str:
        """The query string that gives these rates (the inverse of parse_faults)."""
        parts = [f"{k}={getattr(self, k):g}" for k in RATE_KEYS if getattr(self, k)]
        if self.delay:
            parts.append(f"max_delay={self.max_delay_s:g}")
        return "&".join(parts)


@dataclass
class DirectionStats:
    bytes_in: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0
    clean: bytearray = field(default_factory=bytearray)  # what was sent, before damage

    @property
    def faults(self) -> int:
        return self.dropped + self.corrupted + self.duplicated


class Damager:
    """Applies one direction's faults byte by byte."""

    def __init__(self, rates: FaultRates, seed: int, stats: DirectionStats) -> None:
        self.rates = rates
        self.rng = random.Random(seed)
        self.stats = stats
        self.enabled = True

    def apply(self, data: bytes) -> tuple[bytes, float]:
        """(the bytes that get through, seconds to hold them back)."""
        self.stats.bytes_in += len(data)
        self.stats.clean += data
        if not self.enabled:
            return data, 0.0
        r, rng = self.rates, self.rng
        out = bytearray()
        delay = 0.0
        for byte in data:
            if rng.random() < r.drop:
                self.stats.dropped += 1
                continue
            if rng.random() < r.corrupt:
                byte ^= 1 << rng.randrange(8)
                self.stats.corrupted += 1
            out.append(byte)
            if rng.random() < r.duplicate:
                out.append(byte)
                self.stats.duplicated += 1
            if rng.random() < r.delay:
                delay += rng.uniform(0.0, r.max_delay_s)
                self.stats.delayed += 1
        return bytes(out), delay


@dataclass(frozen=True)
class FaultSpec:
    """A parsed faulty:// URL: the URL it wraps and what to do to each direction."""

    inner: str
    to_device: FaultRates
    to_host: FaultRates
    seed: int = 0
    enabled: bool = True


_DIRECTIONS = {"": ("to_device", "to_host"), "device.": ("to_device",), "host.": ("to_host",)}
_FLOATS = {*RATE_KEYS, "max_delay"}


def _number(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"faulty:// {key}={text!r} is not a number") from None


def parse_faults(url: str) -> FaultSpec:
    """faulty://INNER?drop=0.005&corrupt=0.01&seed=7 -> FaultSpec. The fault
    settings are the last query string, so an inner URL keeps its own:
    faulty://rfc2217://h:4000?logging=debug?corrupt=0.01."""
    prefix = "faulty://"
    if not url.lower().startswith(prefix):
        raise ValueError(f"not a faulty:// URL: {url!r}")
    rest = url[len(prefix) :]
    inner, sep, query = rest.rpartition("?")
    if not sep:
        inner, query = rest, ""
    if "://" not in inner and not inner.startswith("/"):
        raise ValueError(
            f"faulty:// wraps another port or URL, e.g. faulty://socket://127.0.0.1:4000"
            f"?corrupt=0.01; got {url!r}"
        )
    rates: dict[str, dict[str, float]] = {"to_device": {}, "to_host": {}}
    seed, enabled = 0, True
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if key == "seed":
            seed = int(_number(key, value))
        elif key == "enabled":
            if value not in ("0", "1"):
                raise ValueError(f"faulty:// enabled={value!r}: use 0 or 1")
            enabled = value == "1"
        else:
            scope, _, name = key.rpartition(".")
            scope = scope + "." if scope else ""
            if scope not in _DIRECTIONS or name not in _FLOATS:
                known = ", ".join(sorted(_FLOATS | {"seed", "enabled"}))
                raise ValueError(
                    f"faulty:// unknown setting {key!r} (known: {known}; "
                    "prefix a rate with device. or host. for one direction)"
                )
            for direction in _DIRECTIONS[scope]:
                field_name = "max_delay_s" if name == "max_delay" else name
                rates[direction][field_name] = _number(key, value)
    known_fields = {f.name for f in fields(FaultRates)}
    assert all(set(r) <= known_fields for r in rates.values())
    return FaultSpec(
        inner,
        FaultRates(**rates["to_device"]),
        FaultRates(**rates["to_host"]),
        seed=seed,
        enabled=enabled,
    )


def faulty_url(inner: str, rates: FaultRates, *, seed: int = 0, enabled: bool = True) -> str:
    """The faulty:// URL that wraps `inner` with `rates` both ways."""
    query = "&".join(
        p for p in (rates.query(), f"seed={seed}", "" if enabled else "enabled=0") if p
    )
    return f"faulty://{inner}?{query}"

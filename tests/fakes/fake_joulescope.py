"""A FAKE `joulescope` package (v1 API) for testing hil's Joulescope driver at
the package boundary: scan(), Device.parameter_set/open/start/stop/close and
the stream buffer's sample_id_range, len() and samples_get(). Its samples are
a synthetic trace; samples the trace drops come back as NaN, as the real
driver reports missing ones. Not the joulescope package."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.energy_synth import Synthetic

FIELDS = {"gpi0": "current_lsb", "gpi1": "voltage_lsb"}


class FakeStreamBuffer:
    def __init__(self, synth: Synthetic, first_id: int, length: int) -> None:
        self.synth = synth
        self.first_id = first_id
        self.length = length

    def __len__(self) -> int:
        return self.length

    @property
    def sample_id_range(self) -> tuple[int, int]:
        return self.first_id, self.first_id + self.synth.n

    def samples_get(self, start: int, stop: int, fields: list[str]) -> dict[str, Any]:
        _, _, bits = self.synth.clean()
        ticks, cur, vol, _ = self.synth.samples()
        full_i = np.full(self.synth.n, np.nan, dtype=np.float32)
        full_v = np.full(self.synth.n, np.nan, dtype=np.float32)
        full_i[ticks], full_v[ticks] = cur, vol
        gpi = (bits >> self.synth.marker_bit) & 1
        signals = {
            "current": {"value": full_i, "units": "A"},
            "voltage": {"value": full_v, "units": "V"},
            "current_lsb": {"value": gpi.astype(np.uint8), "units": ""},
            "voltage_lsb": {"value": np.zeros(self.synth.n, np.uint8), "units": ""},
        }
        return {
            "time": {
                "sample_id_range": {"value": [start, stop], "units": "samples"},
                "sampling_frequency": {"value": self.synth.rate_hz, "units": "Hz"},
            },
            "signals": {f: signals[f] for f in fields},
        }


class FakeDevice:
    def __init__(self, model: str, serial: str, synth: Synthetic, buffer_samples: int) -> None:
        self.model = model
        self.serial_number = serial
        self.synth = synth
        self.buffer_samples = buffer_samples
        self.calls: list[tuple[Any, ...]] = []
        self.stream_buffer: FakeStreamBuffer | None = None

    def __str__(self) -> str:
        return f"Device(u/{self.model}/{self.serial_number})"

    def parameter_set(self, name: str, value: Any) -> None:
        self.calls.append(("parameter_set", name, value))

    def open(self) -> None:
        self.calls.append(("open",))
        self.stream_buffer = FakeStreamBuffer(self.synth, 123_456, self.buffer_samples)

    def start(self) -> None:
        self.calls.append(("start",))

    def stop(self) -> None:
        self.calls.append(("stop",))

    def close(self) -> None:
        self.calls.append(("close",))


def install(monkeypatch: pytest.MonkeyPatch, devices: list[FakeDevice]) -> None:
    """Put FAKE `joulescope` and `joulescope.v1` modules in sys.modules."""
    package = ModuleType("joulescope")
    v1 = ModuleType("joulescope.v1")
    scans: list[Any] = []

    def scan(config: str | None = None) -> list[FakeDevice]:
        scans.append(config)
        return list(devices)

    v1.scan = scan  # type: ignore[attr-defined]
    v1.scans = scans  # type: ignore[attr-defined]
    package.v1 = v1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "joulescope", package)
    monkeypatch.setitem(sys.modules, "joulescope.v1", v1)

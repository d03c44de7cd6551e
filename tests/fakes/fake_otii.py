"""A FAKE `otii_tcp_client` package for testing hil's Otii driver at the
package boundary: OtiiConnection.connect_to_server, Otii.get_devices and
get_active_project, Arc.enable_channel and get_channel_samplerate, and a
recording's get_channel_data_count / get_channel_data (analog channels as
timestamp + interval + values, digital inputs as timestamped transitions).
Its data is a synthetic trace. Not the otii-tcp-client package."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from tests.energy_synth import Synthetic

T0 = 0.25  # the recording's first sample time, as the Otii reports it


@dataclass
class FakeRecording:
    synth: Synthetic

    def _channels(self) -> dict[str, dict[str, Any]]:
        current, voltage, bits = self.synth.clean()
        interval = 1 / self.synth.rate_hz
        marker = (bits >> self.synth.marker_bit) & 1
        edges = [
            {"timestamp": T0 + k * interval, "value": bool(marker[k])}
            for k in range(len(marker))
            if k == 0 or marker[k] != marker[k - 1]
        ]
        return {
            "mc": {"timestamp": T0, "interval": interval, "values": list(current)},
            "mv": {"timestamp": T0, "interval": interval, "values": list(voltage)},
            "i1": {"values": edges},
            "i2": {"values": []},
        }

    def get_channel_data_count(self, device_id: str, channel: str) -> int:
        return len(self._channels()[channel]["values"])

    def get_channel_data(self, device_id: str, channel: str, index: int, count: int) -> Any:
        data = dict(self._channels()[channel])
        data["values"] = data["values"][index : index + count]
        return data


@dataclass
class FakeProject:
    synth: Synthetic
    log: list[str]

    def start_recording(self) -> None:
        self.log.append("start_recording")

    def stop_recording(self) -> None:
        self.log.append("stop_recording")

    def get_last_recording(self) -> FakeRecording:
        return FakeRecording(self.synth)


@dataclass
class FakeArc:
    name: str
    id: str
    synth: Synthetic
    type: str = "Arc"
    enabled: list[str] = field(default_factory=list)

    def enable_channel(self, channel: str, enable: bool) -> None:
        if enable:
            self.enabled.append(channel)

    def get_channel_samplerate(self, channel: str) -> int:
        return int(self.synth.rate_hz)


def install(
    monkeypatch: pytest.MonkeyPatch, devices: list[FakeArc], *, server_up: bool = True
) -> list[str]:
    """Put a FAKE otii_tcp_client package in sys.modules; returns its call log."""
    log: list[str] = []

    class OtiiConnection:
        def __init__(self, host: str, port: int) -> None:
            log.append(f"connect {host}:{port}")

        def connect_to_server(self, try_for_seconds: float = 0) -> dict[str, Any]:
            if server_up:
                return {"type": "response"}
            return {"type": "error", "errorcode": "Connection refused", "payload": {}}

        def close_connection(self) -> None:
            log.append("close")

    class Otii:
        def __init__(self, connection: OtiiConnection) -> None:
            self.connection = connection

        def get_devices(self) -> list[FakeArc]:
            return list(devices)

        def get_active_project(self) -> FakeProject:
            return FakeProject(devices[0].synth, log)

    package = ModuleType("otii_tcp_client")
    connection_mod = ModuleType("otii_tcp_client.otii_connection")
    otii_mod = ModuleType("otii_tcp_client.otii")
    connection_mod.OtiiConnection = OtiiConnection  # type: ignore[attr-defined]
    otii_mod.Otii = Otii  # type: ignore[attr-defined]
    package.otii_connection = connection_mod  # type: ignore[attr-defined]
    package.otii = otii_mod  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "otii_tcp_client", package)
    monkeypatch.setitem(sys.modules, "otii_tcp_client.otii_connection", connection_mod)
    monkeypatch.setitem(sys.modules, "otii_tcp_client.otii", otii_mod)
    return log

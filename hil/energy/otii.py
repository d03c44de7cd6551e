"""Qoitech Otii Arc / Ace through the `otii-tcp-client` package (MIT), which
drives the Otii application's TCP server. Main current (`mc`) and voltage
(`mv`) are recorded with a digital input (`i1` or `i2`); the Otii reports
the input's transitions timestamped on the instrument's clock, and each is
placed on the current channel's sample grid. The TCP API exposes no count of
lost samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from hil.energy.errors import EnergyError, MeterNotFoundError
from hil.energy.meter import Meter
from hil.energy.optional import require
from hil.energy.trace import MeterIdentity, Trace, drop_invalid, make_trace

DEFAULT_PORT = 1905  # the Otii application's TCP server


class OtiiMeter(Meter):
    """The Arc/Ace named `device` (its name or id in the Otii application),
    reached through the Otii TCP server at host:port."""

    def __init__(
        self,
        device: str,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        marker_input: str = "i1",
        connect_timeout_s: float = 10.0,
    ) -> None:
        if marker_input not in ("i1", "i2"):
            raise EnergyError(f"Otii: marker_input must be i1 or i2, got {marker_input!r}")
        self.device_name = device
        self.host = host
        self.port = port
        self.marker_input = marker_input
        self.connect_timeout_s = connect_timeout_s
        self._connection: Any = None
        self._otii: Any = None
        self._device: Any = None
        self._project: Any = None
        self._sample_rate_hz = 0.0

    @property
    def identity(self) -> MeterIdentity:
        kind = getattr(self._device, "type", "Arc/Ace") if self._device is not None else "Arc/Ace"
        return MeterIdentity(
            model=f"Qoitech Otii {kind}",
            serial=getattr(self._device, "id", "") if self._device is not None else "",
            sample_rate_hz=self._sample_rate_hz or 1.0,
            sync=f"{self.marker_input} transitions timestamped by the Otii, on the mc sample grid",
            loss_detection="not reported by the Otii TCP API",
        )

    def open(self) -> None:
        require("otii_tcp_client", "otii-tcp-client", "the Otii meter")
        connection_mod = require(
            "otii_tcp_client.otii_connection", "otii-tcp-client", "the Otii meter"
        )
        otii_mod = require("otii_tcp_client.otii", "otii-tcp-client", "the Otii meter")
        connection = connection_mod.OtiiConnection(self.host, self.port)
        reply = connection.connect_to_server(try_for_seconds=self.connect_timeout_s)
        if reply.get("type") == "error":
            raise MeterNotFoundError(
                f"no Otii TCP server at {self.host}:{self.port}: {reply.get('errorcode')} "
                f"(start the Otii application's TCP server)"
            )
        otii = otii_mod.Otii(connection)
        devices = list(otii.get_devices())
        found = [d for d in devices if self.device_name in (d.name, d.id)]
        if not found:
            seen = ", ".join(f"{d.name} ({d.id})" for d in devices) or "none"
            connection.close_connection()
            raise MeterNotFoundError(f"no Otii device named {self.device_name!r}; attached: {seen}")
        device = found[0]
        for channel in ("mc", "mv", self.marker_input):
            device.enable_channel(channel, True)
        self._sample_rate_hz = float(device.get_channel_samplerate("mc"))
        self._connection, self._otii, self._device = connection, otii, device

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._device = self._otii = self._project = None
            connection.close_connection()

    def start_capture(self) -> None:
        if self._otii is None:
            raise EnergyError("Otii: open() before start_capture()")
        self._project = self._otii.get_active_project()
        self._project.start_recording()

    def stop_capture(self) -> Trace:
        if self._project is None:
            raise EnergyError("Otii: start_capture() before stop_capture()")
        self._project.stop_recording()
        recording = self._project.get_last_recording()
        dev = self._device.id
        mc = _analog(recording, dev, "mc")
        mv = _analog(recording, dev, "mv")
        n = min(len(mc["values"]), len(mv["values"]))
        if n == 0:
            raise EnergyError("Otii: the recording has no current/voltage samples")
        interval = float(mc["interval"])
        if abs(interval * self._sample_rate_hz - 1) > 1e-6:
            raise EnergyError(
                f"Otii: mc interval {interval} s disagrees with its sample rate "
                f"{self._sample_rate_hz} S/s"
            )
        if mc["timestamp"] != mv["timestamp"] or mc["interval"] != mv["interval"]:
            raise EnergyError("Otii: mc and mv are not on the same sample grid")
        count = recording.get_channel_data_count(dev, self.marker_input)
        edges = recording.get_channel_data(dev, self.marker_input, 0, count)["values"]
        times = float(mc["timestamp"]) + interval * np.arange(n)
        bits = _levels_at(times, edges)
        current = np.asarray(mc["values"][:n], dtype=np.float64)
        voltage = np.asarray(mv["values"][:n], dtype=np.float64)
        index, current, voltage, bits = drop_invalid(np.arange(n), current, voltage, bits)
        return make_trace(self.identity, index, current, voltage, bits)


def _analog(recording: Any, device_id: str, channel: str) -> dict[str, Any]:
    count = recording.get_channel_data_count(device_id, channel)
    data: dict[str, Any] = recording.get_channel_data(device_id, channel, 0, count)
    return data


def _levels_at(times: np.ndarray, edges: list[dict[str, Any]]) -> np.ndarray:
    """The digital input's level at each sample time: the value of the last
    transition at or before it (low before the first)."""
    if not edges:
        return np.zeros(len(times), dtype=np.int64)
    stamps = np.asarray([float(e["timestamp"]) for e in edges])
    values = np.asarray([1 if e["value"] else 0 for e in edges], dtype=np.int64)
    order = np.argsort(stamps, kind="stable")
    stamps, values = stamps[order], values[order]
    last = np.searchsorted(stamps, times, side="right") - 1
    return np.where(last >= 0, values[np.clip(last, 0, None)], 0)

"""Joulescope JS110 / JS220 through the `joulescope` package's v1 API (pip
install joulescope; Apache-2.0). The device is chosen by serial number from
`joulescope.v1.scan()`; samples come from its stream buffer, where the
general-purpose inputs are sampled with current and voltage (GPI0 in the
`current_lsb` field, GPI1 in `voltage_lsb`). A sample the driver could not
deliver is NaN there, and is counted as lost."""

from __future__ import annotations

from typing import Any

import numpy as np

from hil.energy.errors import EnergyError, MeterNotFoundError
from hil.energy.meter import Meter
from hil.energy.optional import require
from hil.energy.trace import MeterIdentity, Trace, drop_invalid, make_trace

MARKER_FIELDS = {"gpi0": "current_lsb", "gpi1": "voltage_lsb"}


class JoulescopeMeter(Meter):
    """The Joulescope with serial number `serial` (required: a rack may hold
    several). The marker goes to `marker_input` (gpi0 or gpi1). The stream
    buffer must hold the whole capture: `buffer_duration_s`."""

    def __init__(
        self,
        serial: str,
        *,
        sample_rate_hz: int = 1_000_000,
        marker_input: str = "gpi0",
        buffer_duration_s: int = 60,
    ) -> None:
        if not serial:
            raise EnergyError("Joulescope: name the instrument's serial number")
        if marker_input not in MARKER_FIELDS:
            raise EnergyError(
                f"Joulescope: marker_input must be one of {', '.join(MARKER_FIELDS)}, "
                f"got {marker_input!r}"
            )
        self.serial = serial
        self.sample_rate_hz = sample_rate_hz
        self.marker_input = marker_input
        self.buffer_duration_s = buffer_duration_s
        self._device: Any = None
        self._model = "Joulescope"

    @property
    def identity(self) -> MeterIdentity:
        return MeterIdentity(
            model=self._model,
            serial=self.serial,
            sample_rate_hz=float(self.sample_rate_hz),
            sync=f"{self.marker_input.upper()} sampled with current and voltage",
            loss_detection="NaN samples in the stream buffer",
        )

    def open(self) -> None:
        v1 = require("joulescope.v1", "joulescope", "the Joulescope meter")
        devices = list(v1.scan(config="off"))
        found = [d for d in devices if _serial_of(d) == self.serial]
        if not found:
            seen = ", ".join(f"{_model_of(d)} {_serial_of(d)}" for d in devices) or "none"
            raise MeterNotFoundError(f"no Joulescope with serial {self.serial}; attached: {seen}")
        device = found[0]
        self._model = f"Joulescope {_model_of(device).upper()}"
        device.parameter_set("sampling_frequency", self.sample_rate_hz)
        device.parameter_set("buffer_duration", self.buffer_duration_s)
        device.parameter_set(MARKER_FIELDS[self.marker_input], self.marker_input)
        device.open()
        self._device = device

    def close(self) -> None:
        if self._device is not None:
            device, self._device = self._device, None
            device.close()

    def start_capture(self) -> None:
        if self._device is None:
            raise EnergyError("Joulescope: open() before start_capture()")
        self._device.start()

    def stop_capture(self) -> Trace:
        if self._device is None:
            raise EnergyError("Joulescope: open() before stop_capture()")
        self._device.stop()
        buffer = self._device.stream_buffer
        start, end = buffer.sample_id_range
        if end - start >= len(buffer):
            raise EnergyError(
                f"Joulescope {self.serial}: the capture filled the {self.buffer_duration_s} s "
                "stream buffer, so its start is lost; raise buffer_duration_s"
            )
        field = MARKER_FIELDS[self.marker_input]
        data = buffer.samples_get(start, end, fields=["current", "voltage", field])
        first, _ = data["time"]["sample_id_range"]["value"]
        signals = data["signals"]
        current = np.asarray(signals["current"]["value"], dtype=np.float64)
        voltage = np.asarray(signals["voltage"]["value"], dtype=np.float64)
        marker = np.nan_to_num(np.asarray(signals[field]["value"], dtype=np.float64))
        rate = data["time"]["sampling_frequency"]["value"]
        if rate != self.sample_rate_hz:
            raise EnergyError(f"Joulescope delivered {rate} S/s, asked for {self.sample_rate_hz}")
        index = np.arange(first, first + len(current), dtype=np.int64)
        index, current, voltage, bits = drop_invalid(index, current, voltage, marker != 0)
        if not len(index):
            raise EnergyError(f"Joulescope {self.serial}: no valid samples in the capture")
        return make_trace(self.identity, index, current, voltage, bits)


def _serial_of(device: Any) -> str:
    return str(getattr(device, "serial_number", "") or str(device).rstrip("/").split("/")[-1])


def _model_of(device: Any) -> str:
    return str(getattr(device, "model", "") or "joulescope")

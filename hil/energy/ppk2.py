"""Nordic Power Profiler Kit II over its USB serial protocol, with pyserial
only (no GPL package). Protocol facts from Nordic's open-source PPK2 desktop
app (pc-nrfconnect-ppk): one-byte commands, calibration metadata as text
ending in END, and 4-byte little-endian samples at 100 kS/s:

    bits 0-13 ADC value, 14-16 measurement range, 18-23 sample counter,
    24-31 the eight logic inputs D0-D7, sampled with the current.

The 6-bit counter finds lost samples; a run of 64 or more lost in a row is
undercounted by a multiple of 64 (the counter cannot tell). The PPK2 does not
sample voltage: in source mode the voltage is its set point, in ampere mode
the caller states the supply."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hil.energy.errors import EnergyError, MeterNotFoundError
from hil.energy.meter import Meter
from hil.energy.serial_ports import Reader, find_port
from hil.energy.trace import MeterIdentity, Trace, make_trace

NORDIC_VID = 0x1915
SAMPLE_RATE_HZ = 100_000
BAUD = 115200  # a USB CDC port: the rate is nominal
DRAIN_LIMIT_S = 10.0  # after AverageStop, how long samples may keep arriving

GET_METADATA = 0x19
AVERAGE_START = 0x06
AVERAGE_STOP = 0x07
DEVICE_RUNNING_SET = 0x0C
REGULATOR_SET = 0x0D
SET_POWER_MODE = 0x11
MODE_AMPERE, MODE_SOURCE = 1, 2
VDD_RANGE_MV = (800, 5000)

RANGES = 5
ADC_SCALE = 4  # the app multiplies the 14-bit field by 4 before calibration
ADC_MULT = 1.8 / 163840
NOMINAL_R = (1031.64, 101.65, 10.15, 0.94, 0.043)  # shunt ohms per range, uncalibrated
COUNTER_MODULO = 64


@dataclass(frozen=True)
class Calibration:
    """Per-range coefficients from the metadata: I = ug*(x*(gs*x + gi) + s*V + i)
    with x = (4*adc - o) * ADC_MULT / r."""

    r: tuple[float, ...] = NOMINAL_R
    gs: tuple[float, ...] = (0.0,) * RANGES
    gi: tuple[float, ...] = (1.0,) * RANGES
    o: tuple[float, ...] = (0.0,) * RANGES
    s: tuple[float, ...] = (0.0,) * RANGES
    i: tuple[float, ...] = (0.0,) * RANGES
    ug: tuple[float, ...] = (1.0,) * RANGES
    defaulted: tuple[str, ...] = ()  # coefficients the metadata did not give

    def current_a(self, adc: np.ndarray, rng: np.ndarray, vdd_v: float) -> np.ndarray:
        coef = {
            k: np.asarray(getattr(self, k))[rng] for k in ("r", "gs", "gi", "o", "s", "i", "ug")
        }
        x = (adc.astype(np.float64) * ADC_SCALE - coef["o"]) * (ADC_MULT / coef["r"])
        return np.asarray(
            coef["ug"] * (x * (coef["gs"] * x + coef["gi"]) + coef["s"] * vdd_v + coef["i"])
        )


def parse_metadata(text: str) -> dict[str, float | None]:
    """`Key: value` lines before END, keys lower-cased; -nan becomes None."""
    body, found, _ = text.partition("END")
    if not found:
        raise EnergyError("PPK2 metadata did not end with END")
    values: dict[str, float | None] = {}
    for line in body.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        try:
            number = float(value.strip())
            values[key.strip().lower()] = None if np.isnan(number) else number
        except ValueError:
            values[key.strip().lower()] = None
    return values


def calibration_from(meta: dict[str, float | None]) -> Calibration:
    kwargs: dict[str, Any] = {}
    defaulted = []
    base = Calibration()
    for name in ("r", "gs", "gi", "o", "s", "i", "ug"):
        row = list(getattr(base, name))
        for k in range(RANGES):
            value = meta.get(f"{name}{k}")
            if value is None:
                defaulted.append(f"{name}{k}")
            else:
                row[k] = value
        kwargs[name] = tuple(row)
    return Calibration(**kwargs, defaulted=tuple(defaulted))


@dataclass(frozen=True)
class Decoded:
    index: np.ndarray  # tick of each kept sample on the 100 kS/s clock
    adc: np.ndarray
    rng: np.ndarray
    logic: np.ndarray
    corrupt: int  # samples with an impossible range field, dropped (their ticks are lost)
    trailing_bytes: int  # an incomplete last sample


def decode(raw: bytes) -> Decoded:
    """Split the stream into samples and place each on the sample clock by its
    counter: a jump of the counter by k + 1 means k samples were lost."""
    usable = len(raw) - len(raw) % 4
    words = np.frombuffer(raw[:usable], dtype="<u4").astype(np.int64)
    adc = words & 0x3FFF
    rng = (words >> 14) & 0x7
    counter = (words >> 18) & 0x3F
    logic = (words >> 24) & 0xFF
    steps = (np.diff(counter) - 1) % COUNTER_MODULO + 1
    index = np.concatenate(([0], np.cumsum(steps))).astype(np.int64) if len(words) else words
    ok = rng < RANGES
    return Decoded(index[ok], adc[ok], rng[ok], logic[ok], int(np.sum(~ok)), len(raw) - usable)


class Ppk2Meter(Meter):
    """A PPK2 as source meter (it supplies `source_mv`) or, with `supply_v`
    instead, as ampere meter in series with a supply of that voltage. The
    marker goes to logic input D`marker_channel`. `port` overrides discovery
    (Nordic VID 0x1915, by `serial_number` when several are attached)."""

    def __init__(
        self,
        *,
        serial_number: str = "",
        port: str = "",
        source_mv: int | None = None,
        supply_v: float | None = None,
        marker_channel: int = 0,
        reply_timeout_s: float = 2.0,
        drain_s: float = 0.2,  # quiet time that ends a capture after AverageStop
    ) -> None:
        if (source_mv is None) == (supply_v is None):
            raise EnergyError(
                "PPK2: give exactly one of source_mv (source meter) or supply_v (ampere meter)"
            )
        if source_mv is not None and not VDD_RANGE_MV[0] <= source_mv <= VDD_RANGE_MV[1]:
            raise EnergyError(f"PPK2: source_mv {source_mv} outside {VDD_RANGE_MV} mV")
        if not 0 <= marker_channel <= 7:
            raise EnergyError(f"PPK2: marker_channel must be 0..7 (D0-D7), got {marker_channel}")
        self.serial_number = serial_number
        self.port = port
        self.source_mv = source_mv
        self.supply_v = supply_v
        self.marker_channel = marker_channel
        self.reply_timeout_s = reply_timeout_s
        self.drain_s = drain_s
        self._serial: Any = None
        self._reader: Reader | None = None
        self._calibration = Calibration()
        self._meta: dict[str, float | None] = {}
        self._usb_serial = ""

    @property
    def voltage_v(self) -> float:
        return self.source_mv / 1000 if self.source_mv is not None else float(self.supply_v or 0)

    @property
    def identity(self) -> MeterIdentity:
        hw = self._meta.get("hw")
        voltage = (
            f"set point {self.source_mv} mV (source meter; the PPK2 does not sample voltage)"
            if self.source_mv is not None
            else f"{self.supply_v:g} V stated by the caller (ampere meter; not sampled)"
        )
        return MeterIdentity(
            model="Nordic PPK2" + (f" (HW {hw:g})" if hw is not None else ""),
            serial=self._usb_serial or (f"unknown (port {self.port})" if self.port else ""),
            sample_rate_hz=SAMPLE_RATE_HZ,
            sync=f"logic input D{self.marker_channel}, sampled in every current sample",
            voltage=voltage,
            loss_detection="6-bit sample counter (runs of 64+ lost undercounted by 64s)",
        )

    def open(self) -> None:
        import serial

        if not self.port:
            self.port, self._usb_serial = find_port(
                what="Nordic PPK2", vid=NORDIC_VID, pid=None, serial_number=self.serial_number
            )
        try:
            # A URL too: rfc2217:// for a meter behind a serial server (labgrid place)
            self._serial = serial.serial_for_url(self.port, BAUD, timeout=0.05)
        except serial.SerialException as exc:
            raise MeterNotFoundError(f"PPK2: cannot open {self.port}: {exc}") from exc
        try:
            self._serial.reset_input_buffer()
            self._send(GET_METADATA)
            self._meta = parse_metadata(self._read_until(b"END", "metadata (GetMetadata, 0x19)"))
        except BaseException:
            self._serial.close()  # nothing was switched on: just let go of the port
            self._serial = None
            raise
        self._calibration = calibration_from(self._meta)
        if self.source_mv is not None:
            self._send(SET_POWER_MODE, MODE_SOURCE)
            self._send(REGULATOR_SET, self.source_mv >> 8, self.source_mv & 0xFF)
            self._send(DEVICE_RUNNING_SET, 1)  # power the DUT
        else:
            self._send(SET_POWER_MODE, MODE_AMPERE)
        self._reader = Reader(self._serial)

    def close(self) -> None:
        if self._serial is not None:
            try:
                if self.source_mv is not None:
                    self._send(DEVICE_RUNNING_SET, 0)
            finally:
                self._serial.close()
                self._serial = None

    def start_capture(self) -> None:
        if self._reader is None:
            raise EnergyError("PPK2: open() before start_capture()")
        self._serial.reset_input_buffer()
        self._reader.start()
        self._send(AVERAGE_START)

    def stop_capture(self) -> Trace:
        if self._reader is None:
            raise EnergyError("PPK2: open() before stop_capture()")
        self._send(AVERAGE_STOP)
        return self.trace_from(self._reader.stop_when_quiet(self.drain_s, DRAIN_LIMIT_S))

    def trace_from(self, raw: bytes) -> Trace:
        decoded = decode(raw)
        if not len(decoded.index):
            raise EnergyError(f"PPK2 on {self.port}: no samples arrived during the capture")
        notes = []
        if decoded.corrupt:
            notes.append(f"{decoded.corrupt} sample(s) with an invalid range field dropped")
        if decoded.trailing_bytes:
            notes.append(f"{decoded.trailing_bytes} trailing byte(s) of a partial sample ignored")
        if self._calibration.defaulted:
            notes.append(
                "PPK2 metadata lacked "
                + ", ".join(self._calibration.defaulted)
                + ": nominal values used"
            )
        current = self._calibration.current_a(decoded.adc, decoded.rng, self.voltage_v)
        return make_trace(
            self.identity,
            decoded.index,
            current,
            self.voltage_v,
            decoded.logic,
            marker_mask=1 << self.marker_channel,
            notes=tuple(notes),
        )

    def _send(self, *command: int) -> None:
        self._serial.write(bytes(command))
        self._serial.flush()

    def _read_until(self, end: bytes, what: str) -> str:
        deadline = time.monotonic() + self.reply_timeout_s
        data = b""
        while end not in data:
            if time.monotonic() > deadline:
                raise MeterNotFoundError(
                    f"no {what} reply from {self.port} within {self.reply_timeout_s:g} s: "
                    f"is a PPK2 on that port? (got {len(data)} byte(s))"
                )
            data += self._serial.read(4096)
        return data.decode("ascii", errors="replace")

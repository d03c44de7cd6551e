"""A meter that replays a recorded trace: a CSV file (time, current, voltage,
marker) or a Joulescope .jls file (through the optional `pyjls` package).
For offline analysis of captures, and for tests with known energy.

CSV layout (docs/energy.md): optional `# key: value` lines first (meter,
serial, sample_rate_hz, sync, voltage), then the header
`time_s,current_a,voltage_v,marker` and one row per sample. Times are the
recording meter's sample clock; a missing row is a lost sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hil.energy.errors import EnergyError
from hil.energy.meter import Meter
from hil.energy.optional import require
from hil.energy.trace import MeterIdentity, Trace, drop_invalid, make_trace

CSV_COLUMNS = ("time_s", "current_a", "voltage_v", "marker")
JLS_SIGNALS = ("current", "voltage")


class ReplayMeter(Meter):
    """Replays `path` (.csv or .jls). `marker_mask` picks the marker among the
    CSV marker bits; `marker_signal` names the .jls digital signal."""

    def __init__(
        self, path: str | Path, *, marker_mask: int = 1, marker_signal: str = "gpi[0]"
    ) -> None:
        self.path = Path(path)
        self.marker_mask = marker_mask
        self.marker_signal = marker_signal
        self._trace: Trace | None = None

    @property
    def identity(self) -> MeterIdentity:
        return self._loaded().identity

    def open(self) -> None:
        if not self.path.is_file():
            raise EnergyError(f"replay trace {self.path} does not exist")
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            self._trace = read_csv(self.path, marker_mask=self.marker_mask)
        elif suffix == ".jls":
            self._trace = read_jls(self.path, marker_signal=self.marker_signal)
        else:
            raise EnergyError(f"replay trace {self.path}: expected a .csv or .jls file")

    def close(self) -> None:
        self._trace = None

    def start_capture(self) -> None:
        self._loaded()

    def stop_capture(self) -> Trace:
        return self._loaded()

    def _loaded(self) -> Trace:
        if self._trace is None:
            raise EnergyError(f"replay meter for {self.path} is not open")
        return self._trace


def _csv_metadata(lines: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in lines:
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    return meta


def read_csv(path: Path, *, marker_mask: int = 1) -> Trace:
    text = path.read_text()
    lines = text.splitlines()
    meta = _csv_metadata(lines)
    header = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    columns = tuple(c.strip() for c in header.split(","))
    if columns != CSV_COLUMNS:
        raise EnergyError(f"{path}: CSV header is {header!r}; expected {','.join(CSV_COLUMNS)}")
    try:
        data = _load_rows(lines)
    except ValueError as exc:
        raise EnergyError(f"{path}: unreadable sample row: {exc}") from exc
    if not len(data):
        raise EnergyError(f"{path}: no samples")
    time_s = data[:, 0]
    rate = _sample_rate(path, meta, time_s)
    ticks = (time_s - time_s[0]) * rate
    index = np.rint(ticks).astype(np.int64)
    off_grid = np.max(np.abs(ticks - index))
    if off_grid > 0.25:
        raise EnergyError(
            f"{path}: times are not on a {rate:g} S/s sample grid (off by up to "
            f"{off_grid:.2f} samples)"
        )
    bits = data[:, 3].astype(np.int64)
    index, current, voltage, bits = drop_invalid(index, data[:, 1], data[:, 2], bits)
    identity = MeterIdentity(
        model=f"replay of {meta.get('meter', 'an unnamed meter')} ({path.name})",
        serial=meta.get("serial", ""),
        sample_rate_hz=rate,
        sync=meta.get("sync", "marker column sampled with current and voltage"),
        voltage=meta.get("voltage", "sampled"),
        loss_detection="gaps in the time column",
    )
    return make_trace(identity, index, current, voltage, bits, marker_mask=marker_mask)


def _load_rows(lines: list[str]) -> np.ndarray:
    """The sample rows after the header, as an N x 4 array."""
    rows = [ln for ln in lines if ln.strip() and not ln.startswith("#")][1:]
    data = np.array([row.split(",") for row in rows], dtype=np.float64)
    if data.size and data.shape[1] != len(CSV_COLUMNS):
        raise ValueError(f"expected {len(CSV_COLUMNS)} columns, got {data.shape[1]}")
    return data.reshape(-1, len(CSV_COLUMNS))


def _sample_rate(path: Path, meta: dict[str, str], time_s: np.ndarray) -> float:
    if "sample_rate_hz" in meta:
        try:
            rate = float(meta["sample_rate_hz"])
        except ValueError as exc:
            raise EnergyError(
                f"{path}: sample_rate_hz: not a number: {meta['sample_rate_hz']!r}"
            ) from exc
    elif len(time_s) > 1:
        rate = 1.0 / float(np.median(np.diff(time_s)))  # a few lost samples do not move it
    else:
        raise EnergyError(f"{path}: one sample and no '# sample_rate_hz:' line")
    if not rate > 0:
        raise EnergyError(f"{path}: sample rate must be positive, got {rate:g}")
    return rate


def read_jls(path: Path, *, marker_signal: str = "gpi[0]") -> Trace:
    pyjls = require("pyjls", "pyjls", "reading Joulescope .jls traces")
    reader = pyjls.Reader(str(path))
    try:
        by_name = {s.name: s for s in reader.signals.values()}
        wanted = (*JLS_SIGNALS, marker_signal)
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise EnergyError(
                f"{path}: no signal(s) {', '.join(missing)} (signals: {', '.join(sorted(by_name))})"
            )
        rates = {by_name[n].sample_rate for n in wanted}
        if len(rates) != 1:
            raise EnergyError(f"{path}: signals {', '.join(wanted)} differ in sample rate {rates}")
        length = min(by_name[n].length for n in wanted)
        current = np.asarray(reader.fsr(by_name["current"].signal_id, 0, length), np.float64)
        voltage = np.asarray(reader.fsr(by_name["voltage"].signal_id, 0, length), np.float64)
        marker = by_name[marker_signal]
        raw = np.asarray(reader.fsr(marker.signal_id, 0, length))
        if pyjls.data_type_as_str(marker.data_type) == "u1":
            raw = np.unpackbits(raw.astype(np.uint8), bitorder="little")[:length]
        source = reader.sources.get(by_name["current"].source_id)
    finally:
        reader.close()
    index, current, voltage, bits = drop_invalid(
        np.arange(length, dtype=np.int64), current, voltage, (raw != 0).astype(np.int64)
    )
    identity = MeterIdentity(
        model=f"replay of {getattr(source, 'model', '') or 'Joulescope'} ({path.name})",
        serial=getattr(source, "serial_number", "") or "",
        sample_rate_hz=float(rates.pop()),
        sync=f"{marker_signal} sampled with current and voltage",
        loss_detection="NaN samples in the recording",
    )
    return make_trace(identity, index, current, voltage, bits)

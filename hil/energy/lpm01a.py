"""ST X-NUCLEO-LPM01A (PowerShield firmware) over its ASCII serial protocol,
with pyserial only. Protocol facts from ST's UM2269 command list (as quoted
in the MLPerf Tiny runner): `htc` takes host control, `volt 3300m`, `freq 5k`,
`acqtime 0` (unlimited), `output current`, `format ascii_dec`, `trigsrc sw`,
`start`, `stop` (ends with "Acquisition completed"); each command is answered
`ack <command>` or `error <command>`. In ascii_dec a sample reads `6409-07`
(6409 x 10^-7 A); ascii_dec runs unlimited only at 5 kS/s or less.

The marker goes to the D7 event input; the firmware reports each D7 edge as
an `event <n> ris|fal` line in the sample stream, i.e. on its own sample
clock. Which edges it reports is set with `eventsrc d7 <edge>`; docs/energy.md
says what was not verifiable without the board. The stream has no sample
counter, so lost samples cannot be detected; the voltage is the set point."""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from hil.energy.errors import EnergyError, MeterNotFoundError
from hil.energy.meter import Meter
from hil.energy.serial_ports import Reader, find_port
from hil.energy.trace import MeterIdentity, Trace, make_trace

ST_VID, ST_VCP_PID = 0x0483, 0x5740  # ST's virtual COM port
BAUD = 3686400
ASCII_RATES = {
    5000: "5k",
    2000: "2k",
    1000: "1k",
    500: "500",
    200: "200",
    100: "100",
    50: "50",
    20: "20",
    10: "10",
    5: "5",
    2: "2",
    1: "1",
}
VOLT_RANGE_MV = (1800, 3300)
PROMPT = "PowerShield >"
SAMPLE = re.compile(r"(\d{4})([+-]\d{2})")
EVENT = re.compile(r"event\s+\d+\s+(ris|fal)", re.IGNORECASE)
DONE = "Acquisition completed"


def parse_stream(text: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(current in A, marker level per sample, D7 events seen) from the text
    the PowerShield sent during an acquisition."""
    values: list[float] = []
    levels: list[int] = []
    level = 0
    events = 0
    for line in text.splitlines():
        edge = EVENT.search(line)
        if edge:
            level = 1 if edge.group(1).lower() == "ris" else 0
            events += 1
            continue
        if "error" in line.lower():
            raise EnergyError(f"PowerShield reported during the acquisition: {line.strip()!r}")
        for mantissa, exponent in SAMPLE.findall(line):
            values.append(int(mantissa) * 10.0 ** int(exponent))
            levels.append(level)
    return np.asarray(values), np.asarray(levels, dtype=np.int64), events


class Lpm01aMeter(Meter):
    """A PowerShield supplying `supply_mv` and sampling at `sample_rate_hz`
    (ascii_dec rates up to 5 kS/s). `port` overrides discovery (ST VCP
    0483:5740, by `serial_number` when several are attached)."""

    def __init__(
        self,
        *,
        serial_number: str = "",
        port: str = "",
        baud: int = BAUD,
        supply_mv: int = 3300,
        sample_rate_hz: int = 5000,
        event_edges: tuple[str, ...] = ("ris", "fal"),
        reply_timeout_s: float = 2.0,
    ) -> None:
        if sample_rate_hz not in ASCII_RATES:
            raise EnergyError(
                f"LPM01A: {sample_rate_hz} S/s is not an unlimited ascii_dec rate "
                f"(choose from {sorted(ASCII_RATES)})"
            )
        if not VOLT_RANGE_MV[0] <= supply_mv <= VOLT_RANGE_MV[1]:
            raise EnergyError(f"LPM01A: supply_mv {supply_mv} outside {VOLT_RANGE_MV} mV")
        if not event_edges or any(e not in ("ris", "fal") for e in event_edges):
            raise EnergyError(f"LPM01A: event_edges must be 'ris' and/or 'fal', got {event_edges}")
        self.serial_number = serial_number
        self.port = port
        self.baud = baud
        self.supply_mv = supply_mv
        self.sample_rate_hz = sample_rate_hz
        self.event_edges = event_edges
        self.reply_timeout_s = reply_timeout_s
        self._serial: Any = None
        self._pending = b""
        self._reader: Reader | None = None
        self._board_id = ""
        self._version = ""

    @property
    def identity(self) -> MeterIdentity:
        return MeterIdentity(
            model="ST X-NUCLEO-LPM01A"
            + (f" (PowerShield FW {self._version})" if self._version else ""),
            serial=self._board_id,
            sample_rate_hz=float(self.sample_rate_hz),
            sync="D7 edges reported as events in the sample stream (PowerShield's sample clock)",
            voltage=f"set point {self.supply_mv} mV (not sampled)",
            loss_detection="none: the ASCII stream carries no sample counter",
        )

    def open(self) -> None:
        import serial

        if not self.port:
            self.port, self._board_id = find_port(
                what="ST X-NUCLEO-LPM01A",
                vid=ST_VID,
                pid=ST_VCP_PID,
                serial_number=self.serial_number,
            )
        try:
            # A URL too: rfc2217:// for a meter behind a serial server (labgrid place)
            self._serial = serial.serial_for_url(self.port, self.baud, timeout=0.05)
        except serial.SerialException as exc:
            raise MeterNotFoundError(f"LPM01A: cannot open {self.port}: {exc}") from exc
        try:
            self._serial.reset_input_buffer()
            self.command("htc")
            self._board_id = self.command("powershield") or self._board_id
            self._version = self.command("version")
        except BaseException:
            self._serial.close()  # not a PowerShield, or not answering: let go of the port
            self._serial = None
            raise
        for line in (
            f"volt {self.supply_mv}m",
            f"freq {ASCII_RATES[self.sample_rate_hz]}",
            "acqtime 0",
            "output current",
            "format ascii_dec",
            "trigsrc sw",
            *(f"eventsrc d7 {edge}" for edge in self.event_edges),
            "pwr on",
        ):
            self.command(line)
        self._reader = Reader(self._serial)

    def close(self) -> None:
        if self._serial is not None:
            try:
                self.command("hrc")
            finally:
                self._serial.close()
                self._serial = None

    def command(self, line: str) -> str:
        """Send one command; its reply text (after `ack <command>` and any
        lines before it), or an error with the PowerShield's words."""
        self._serial.write(f"{line}\n".encode("ascii"))
        self._serial.flush()
        word = line.split()[0]
        before: list[str] = []
        deadline = time.monotonic() + self.reply_timeout_s
        while True:
            reply = self._readline(deadline, line).replace(PROMPT, "").strip()
            if reply.startswith(("ack", "error")) and word in reply:
                rest = reply.split(word, 1)[1].strip()
                if reply.startswith("error"):
                    raise EnergyError(f"PowerShield refused {line!r}: {rest or reply}")
                return " ".join([*before, rest]).strip()
            if reply:
                before.append(reply)

    def _readline(self, deadline: float, what: str) -> str:
        while b"\n" not in self._pending:
            if time.monotonic() > deadline:
                raise MeterNotFoundError(
                    f"no reply to {what!r} from {self.port} within {self.reply_timeout_s:g} s: "
                    f"is a PowerShield there at {self.baud} baud?"
                )
            self._pending += self._serial.read(4096)
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("ascii", errors="replace")

    def start_capture(self) -> None:
        if self._reader is None:
            raise EnergyError("LPM01A: open() before start_capture()")
        self.command("start")
        self._reader.start()

    def stop_capture(self) -> Trace:
        if self._reader is None:
            raise EnergyError("LPM01A: open() before stop_capture()")
        self._serial.write(b"stop\n")
        self._serial.flush()
        deadline = time.monotonic() + self.reply_timeout_s
        while DONE.encode() not in self._reader.received():
            if time.monotonic() > deadline:
                self._reader.stop()
                raise EnergyError(f"LPM01A: no {DONE!r} within {self.reply_timeout_s:g} s of stop")
            time.sleep(0.01)
        data = self._pending + self._reader.stop()
        self._pending = b""
        return self.trace_from(data.decode("ascii", errors="replace").split(DONE)[0])

    def trace_from(self, text: str) -> Trace:
        current, levels, events = parse_stream(text)
        if not len(current):
            raise EnergyError(f"LPM01A on {self.port}: no samples arrived during the capture")
        notes = () if events else ("no D7 events in the stream: is the marker on D7?",)
        return make_trace(
            self.identity,
            np.arange(len(current)),
            current,
            self.supply_mv / 1000,
            levels,
            notes=notes,
        )

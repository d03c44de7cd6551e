"""The host side of the EEMBC / MLCommons MLPerf Tiny serial protocol, as its
reference firmware implements it: ASCII commands ended by '%' (80 characters
at most), answered by lines and always closed by `m-ready`; errors are `e-[...]`.

Enough of it to drive MLPerf Tiny firmware unchanged: name, profile, `db load N`
and `db <hex>` (31 bytes a line), `infer N W` (timestamps `m-lap-us-<n>` around
the timed loop) and results `m-results-[v0,v1,...]`."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
import serial

from hil.errors import HilError, LinkError
from hil.link.io import read_some

MAX_COMMAND = 80
DB_BYTES_PER_LINE = 31
READY = "m-ready"


class EembcError(HilError):
    """The device answered with an `e-[...]` line, or not as the protocol says."""


@dataclass(frozen=True)
class EembcInfo:
    name: str  # "dut" for a device under test
    vendor: str
    profile: str
    model: str


@dataclass(frozen=True)
class EembcInference:
    iterations: int
    warmup: int
    timestamps_us: tuple[int, ...]  # m-lap-us values around the timed loop
    results: tuple[float, ...]
    decimals: int  # digits after the point in the results as printed

    @property
    def us_per_inference(self) -> float:
        if len(self.timestamps_us) < 2:
            raise EembcError(f"infer printed {len(self.timestamps_us)} timestamps, need 2")
        return (self.timestamps_us[-1] - self.timestamps_us[-2]) / self.iterations


RESULTS = re.compile(r"^m-results-\[(.*)\]$")
LAP = re.compile(r"^m-lap-us-(\d+)$")
NAME = re.compile(r"^m-name-(.*?)-\[(.*)\]$")


def parse_results(line: str) -> tuple[tuple[float, ...], int]:
    """`m-results-[0.000,0.996]` -> the values and the decimals they carry."""
    match = RESULTS.match(line)
    if not match:
        raise EembcError(f"not a results line: {line!r}")
    body = match.group(1).strip()
    if not body:
        return (), 0
    values = []
    decimals = 99
    for item in body.split(","):
        text = item.strip()
        try:
            values.append(float(text))
        except ValueError as exc:
            raise EembcError(f"results value {text!r} is not a number in {line!r}") from exc
        decimals = min(decimals, len(text.split(".", 1)[1]) if "." in text else 0)
    return tuple(values), decimals


@dataclass
class EembcSession:
    port: serial.SerialBase
    timeout: float = 10.0
    transcript: list[str] = field(default_factory=list)  # last command's lines
    _buffer: str = ""

    def _lines_until_ready(self, deadline: float, command: str) -> list[str]:
        lines: list[str] = []
        while True:
            while "\n" in self._buffer:
                line, self._buffer = self._buffer.split("\n", 1)
                line = line.strip("\r ")
                if not line:
                    continue
                if line == READY:
                    return lines
                lines.append(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got = "; ".join(lines[-5:]) or "nothing"
                raise LinkError(
                    f"EEMBC: no {READY} after {command!r} within {self.timeout:.1f} s (got: {got})"
                )
            try:
                data = read_some(self.port, min(remaining, 0.05))
            except (serial.SerialException, OSError) as exc:
                raise LinkError(f"EEMBC link read failed: {exc}") from exc
            self._buffer += data.decode("ascii", errors="replace")

    def command(self, text: str, timeout: float | None = None) -> list[str]:
        """Send one command; return the lines before `m-ready`. An `e-[...]`
        line raises EembcError with its text."""
        if "%" in text or len(text) > MAX_COMMAND:
            raise EembcError(
                f"EEMBC commands are at most {MAX_COMMAND} characters without '%': {text!r}"
            )
        try:
            self.port.write(f"{text}%".encode("ascii"))
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"EEMBC link write failed: {exc}") from exc
        limit = self.timeout if timeout is None else timeout
        lines = self._lines_until_ready(time.monotonic() + limit, text)
        self.transcript = lines
        errors = [line for line in lines if line.startswith("e-[")]
        if errors:
            raise EembcError(f"EEMBC {text.split()[0]!r}: device error {errors[0]}")
        return lines

    def wait_ready(self, timeout: float | None = None) -> None:
        """Drain start-up output up to the first `m-ready`, if it comes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._lines_until_ready(deadline, "(start-up)")

    @staticmethod
    def _tagged(lines: list[str], prefix: str, command: str) -> str:
        for line in lines:
            if line.startswith(prefix) and line.endswith("]"):
                return line[len(prefix) : -1]
        raise EembcError(f"EEMBC {command!r}: no {prefix}...] line in {lines}")

    def hello(self) -> EembcInfo:
        self.port.reset_input_buffer()
        self._buffer = ""
        lines = self.command("name")
        named = [m for line in lines if (m := NAME.match(line))]
        if not named:
            raise EembcError(f"EEMBC 'name': no m-name-<name>-[<vendor>] line in {lines}")
        lines = self.command("profile")
        return EembcInfo(
            named[0].group(1),
            named[0].group(2),
            self._tagged(lines, "m-profile-[", "profile"),
            self._tagged(lines, "m-model-[", "profile"),
        )

    def load(self, data: bytes) -> None:
        lines = self.command(f"db load {len(data)}")
        if not any(line.startswith("m-[Expecting") for line in lines):
            raise EembcError(f"EEMBC 'db load {len(data)}' not acknowledged: {lines}")
        for offset in range(0, len(data), DB_BYTES_PER_LINE):
            lines = self.command(f"db {data[offset : offset + DB_BYTES_PER_LINE].hex()}")
        if "m-load-done" not in lines:
            raise EembcError(f"EEMBC: no m-load-done after {len(data)} bytes: {lines}")

    def infer(
        self, iterations: int = 1, warmup: int = 0, timeout: float | None = None
    ) -> EembcInference:
        if iterations < 1 or warmup < 0:
            raise ValueError("infer needs iterations >= 1 and warmup >= 0")
        lines = self.command(f"infer {iterations} {warmup}", timeout)
        laps = tuple(int(m.group(1)) for line in lines if (m := LAP.match(line)))
        results = [line for line in lines if line.startswith("m-results-")]
        if not results:
            raise EembcError(f"EEMBC infer printed no m-results line: {lines}")
        values, decimals = parse_results(results[-1])
        inference = EembcInference(iterations, warmup, laps, values, decimals)
        inference.us_per_inference  # noqa: B018 - validates the timestamps now
        return inference

    def results(self) -> tuple[tuple[float, ...], int]:
        lines = self.command("results")
        for line in lines:
            if line.startswith("m-results-"):
                return parse_results(line)
        raise EembcError(f"EEMBC results printed no m-results line: {lines}")


def recover_quantized(
    values: tuple[float, ...], decimals: int, scale: float, zero_point: int, dtype: np.dtype
) -> np.ndarray:
    """The integer outputs behind printed dequantized values. A value printed to
    `decimals` places by rounding or by truncation (MLPerf Tiny's reference
    firmware truncates) lies in [v - step/2, v + step); exactly one quantized
    level must fall there (with a little slack for the device's float
    arithmetic), else the print is too coarse to say which it was."""
    step = 10.0**-decimals
    info = np.iinfo(dtype)
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        slack = max(step * 0.01, abs(v) * 1e-6)
        low, high = v - step / 2 - slack, v + step + slack
        candidates = [
            q
            for q in range(
                math.floor(low / scale) + zero_point, math.ceil(high / scale) + zero_point + 1
            )
            if info.min <= q <= info.max and low <= (q - zero_point) * scale <= high
        ]
        if len(candidates) != 1:
            raise EembcError(
                f"result {i} printed as {v:.{decimals}f} matches {len(candidates)} quantized "
                f"levels of scale {scale:g}; the device prints too few decimals to compare exactly"
            )
        out[i] = candidates[0]
    return out.astype(dtype)

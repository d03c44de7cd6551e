"""The EEMBC host session against scripted device answers: well-formed ones,
and each way a response can be malformed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hil.errors import LinkError
from hil.link.eembc import EembcError, EembcSession, parse_results, recover_quantized


class ScriptedPort:
    """Stands in for a serial port: each command written gets the scripted reply."""

    def __init__(self, reply: Callable[[str], str]) -> None:
        self.reply = reply
        self.pending = b""
        self.timeout: float | None = 0.0
        self.commands: list[str] = []

    def write(self, data: bytes) -> int:
        for command in data.decode().split("%")[:-1]:
            self.commands.append(command)
            self.pending += self.reply(command).encode()
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self.pending = b""

    def read(self, size: int = 1) -> bytes:
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


def device(command: str) -> str:
    """A well-behaved MLPerf Tiny DUT with a 12-class softmax output."""
    if command == "name":
        return "m-name-dut-[acme]\r\nm-ready\r\n"
    if command == "profile":
        return "m-profile-[ULPMark for tinyML Firmware V0.0.1]\r\nm-model-[kws01]\r\nm-ready\r\n"
    if command.startswith("db load"):
        return f"m-[Expecting {command.split()[2]} bytes]\r\nm-ready\r\n"
    if command.startswith("db "):
        return "m-load-done\r\nm-ready\r\n" if len(command) < 60 else "m-ready\r\n"
    if command.startswith("infer"):
        return (
            "m-warmup-start-1\r\nm-warmup-done\r\nm-infer-start-10\r\nm-lap-us-1000\r\n"
            "m-lap-us-21000\r\nm-infer-done\r\nm-results-[0.000,0.996,0.003]\r\nm-ready\r\n"
        )
    return f"e-[Unknown command: {command}]\r\nm-ready\r\n"


def test_a_full_exchange() -> None:
    port = ScriptedPort(device)
    s = EembcSession(port, timeout=0.2)  # type: ignore[arg-type]
    info = s.hello()
    assert (info.name, info.vendor, info.model) == ("dut", "acme", "kws01")
    s.load(bytes(range(40)))
    assert port.commands[2] == "db load 40"
    assert port.commands[3] == "db " + bytes(range(31)).hex()  # 31 bytes a line
    assert all(len(c) <= 80 for c in port.commands)
    run = s.infer(10, 1)
    assert run.timestamps_us == (1000, 21000) and run.us_per_inference == 2000.0
    assert run.results == (0.0, 0.996, 0.003) and run.decimals == 3


def test_missing_ready_is_a_link_error_naming_the_command() -> None:
    s = EembcSession(ScriptedPort(lambda c: "m-name-dut-[x]\r\n"), timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(LinkError, match=r"no m-ready after 'name' within 0\.2 s \(got: m-name"):
        s.command("name")


def test_error_lines_raise_with_the_device_text() -> None:
    s = EembcSession(ScriptedPort(device), timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(EembcError, match=r"'bogus': device error e-\[Unknown command: bogus\]"):
        s.command("bogus")


def test_infer_without_results_or_timestamps_is_refused() -> None:
    no_results = ScriptedPort(lambda c: "m-lap-us-1\r\nm-lap-us-2\r\nm-infer-done\r\nm-ready\r\n")
    with pytest.raises(EembcError, match="printed no m-results line"):
        EembcSession(no_results, timeout=0.2).infer()  # type: ignore[arg-type]
    no_laps = ScriptedPort(lambda c: "m-results-[0.5]\r\nm-ready\r\n")
    with pytest.raises(EembcError, match="printed 0 timestamps, need 2"):
        EembcSession(no_laps, timeout=0.2).infer()  # type: ignore[arg-type]


def test_commands_longer_than_the_protocol_allows_are_refused() -> None:
    s = EembcSession(ScriptedPort(device), timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(EembcError, match="at most 80 characters"):
        s.command("x" * 81)


def test_parse_results() -> None:
    assert parse_results("m-results-[0.000,0.996]") == ((0.0, 0.996), 3)
    assert parse_results("m-results-[-1.250000,3]") == ((-1.25, 3.0), 0)
    with pytest.raises(EembcError, match="is not a number"):
        parse_results("m-results-[0.1,abc]")


def test_recover_quantized_from_truncated_three_decimals() -> None:
    # MLPerf Tiny's KWS firmware truncates softmax outputs (scale 1/256, zp -128) to 0.ddd
    scale, zp = 1 / 256, -128
    q = np.arange(-128, 128, dtype=np.int8)
    real = (q.astype(np.float64) - zp) * scale
    printed = tuple(np.floor(real * 1000) / 1000)
    assert np.array_equal(recover_quantized(printed, 3, scale, zp, np.dtype(np.int8)), q)


def test_recover_quantized_refuses_too_coarse_prints() -> None:
    with pytest.raises(EembcError, match="too few decimals"):
        recover_quantized((0.0,), 1, 0.01, 0, np.dtype(np.int8))


def test_recover_quantized_at_the_rounding_edge_of_six_decimals() -> None:
    # (109 - 5) * 0.0082909567 = 0.86225950 prints as 0.862260 (hello_world's output)
    scale = float(np.float32(0.0082909567))
    got = recover_quantized((0.862260,), 6, scale, 5, np.dtype(np.int8))
    assert got.tolist() == [109]
    q = np.arange(-128, 128)
    printed = tuple(round(float(np.float32((x - 5) * np.float32(scale))), 6) for x in q)
    assert recover_quantized(printed, 6, scale, 5, np.dtype(np.int8)).tolist() == q.tolist()

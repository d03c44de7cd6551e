"""The host's parsers of device responses take arbitrary bytes calmly: a
well-formed result, or a ProtocolError, never anything else."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hil.link.protocol import (
    Counters,
    FaultKind,
    FaultReport,
    Hello,
    ProtocolError,
    parse_tensor_info,
)

PARSERS = [Hello.parse, parse_tensor_info, Counters.parse, FaultReport.parse]


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__qualname__)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes(parse, data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse(data)


def test_hello_round_trip() -> None:
    strings = b"".join(bytes([len(s)]) + s for s in (b"abc", b"hil", b"0.1", b"brd", b"m4"))
    data = struct.pack("<IBBHIIII", 7, 1, 2, 2048, 100, 200, 25_000_000, 1) + strings
    h = Hello.parse(data)
    assert (h.nonce, h.max_payload, h.clock_hz, h.build_id, h.core) == (
        7,
        2048,
        25_000_000,
        "abc",
        "m4",
    )
    with pytest.raises(ProtocolError, match="HELLO response: payload of 30 bytes"):
        Hello.parse(data[:30])
    assert (h.linked_bytes, h.linked_crc, h.linked_sha256) == (0, 0, "")  # no trailer: none


def test_hello_names_the_linked_model() -> None:
    strings = b"".join(bytes([len(s)]) + s for s in (b"abc", b"hil", b"0.1", b"brd", b"m4"))
    head = struct.pack("<IBBHIIII", 7, 1, 2, 2048, 100, 200, 25_000_000, 1) + strings
    h = Hello.parse(head + struct.pack("<II", 2704, 0xDEADBEEF) + b"\x04abcd")
    assert (h.linked_bytes, h.linked_crc, h.linked_sha256) == (2704, 0xDEADBEEF, "abcd")
    with pytest.raises(ProtocolError, match="HELLO response"):
        Hello.parse(head + struct.pack("<I", 2704))  # a trailer cut short


def test_tensor_spec_limits() -> None:
    good = struct.pack("<BBH", 9, 2, 0) + struct.pack("<2i", 1, 4) + struct.pack("<Ifi", 4, 0.5, 3)
    spec = parse_tensor_info(good)
    assert spec.shape == (1, 4) and spec.zero_point == 3
    with pytest.raises(ProtocolError, match="rank 9 exceeds 6"):
        parse_tensor_info(struct.pack("<BBH", 9, 9, 0) + bytes(60))
    with pytest.raises(ProtocolError, match="unknown dtype code 200"):
        parse_tensor_info(struct.pack("<BBH", 200, 0, 0) + bytes(12))


def test_fault_report_describes_registers() -> None:
    regs = (0x1234, 0x5679, 0x01000000, 0x8200, 0, 0, 0xA0000000)
    text = FaultReport.parse(struct.pack("<8I", FaultKind.BUS, *regs)).describe()
    assert text.startswith("BusFault at pc=0x00001234 lr=0x00005679")
    assert "(PRECISERR|BFARVALID)" in text and "BFAR=0xa0000000" in text
    with pytest.raises(ProtocolError, match="unknown fault kind 99"):
        FaultReport.parse(struct.pack("<8I", 99, *regs))

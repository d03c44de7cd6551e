from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from hil.link.framing import BadFrame, Frame, FrameSplitter, decode_frame, encode_frame
from hil.link.protocol import HEADER


def frames_of(stream: bytes) -> list[Frame | BadFrame]:
    return list(FrameSplitter().feed(stream))


def test_round_trip_keeps_every_field() -> None:
    payload = bytes(range(256)) * 3  # zeros inside, longer than one COBS block
    (frame,) = frames_of(encode_frame(0x05, 0xBEEF, payload, status=9))
    assert frame == Frame(1, 0x05, 0xBEEF, 9, payload)


def test_encoded_frame_has_no_zero_inside() -> None:
    encoded = encode_frame(1, 2, b"\x00" * 600)
    assert encoded[0] == 0 and encoded[-1] == 0
    assert b"\x00" not in encoded[1:-1]


def test_every_single_bit_flip_is_detected() -> None:
    encoded = bytearray(encode_frame(7, 42, b"\x01\x02\x03\x04hello"))
    for pos in range(1, len(encoded) - 1):
        for bit in range(8):
            damaged = bytearray(encoded)
            damaged[pos] ^= 1 << bit
            results = frames_of(bytes(damaged))
            assert all(isinstance(r, BadFrame) for r in results), (pos, bit, results)


def test_length_field_must_match_payload() -> None:
    from cobs import cobs

    body = HEADER.pack(1, 1, 1, 0, 0, 5) + b"abc"
    raw = body + zlib.crc32(body).to_bytes(4, "little")
    result = decode_frame(cobs.encode(raw))
    assert isinstance(result, BadFrame) and "length field 5" in result.reason


def test_splitter_resynchronises_after_garbage() -> None:
    good = encode_frame(3, 1, b"data")
    results = frames_of(b"\x13\x37garbage" + good + b"\xff\xfe" + good)
    assert [type(r) for r in results] == [BadFrame, Frame, BadFrame, Frame]


def test_splitter_accepts_a_frame_cut_into_pieces() -> None:
    good = encode_frame(3, 1, b"x" * 300)
    splitter = FrameSplitter()
    got = [f for i in range(len(good)) for f in splitter.feed(good[i : i + 1])]
    assert got == [Frame(1, 3, 1, 0, b"x" * 300)]


def test_overlong_frame_is_reported_not_buffered() -> None:
    splitter = FrameSplitter(max_encoded=64)
    (result,) = splitter.feed(b"\x01" * 1000 + b"\x00")
    assert isinstance(result, BadFrame) and "longer" in result.reason


@settings(max_examples=500)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_never_forge_a_frame(data: bytes) -> None:
    for result in frames_of(data + b"\x00"):
        if isinstance(result, Frame):
            # Only possible if the random bytes carry a valid CRC: re-encoding
            # must reproduce them exactly.
            assert (
                encode_frame(
                    result.type, result.seq, result.payload, result.status, result.version
                )[1:-1]
                in data
            )


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=3000))
def test_round_trip_property(type_: int, seq: int, payload: bytes) -> None:
    assert frames_of(encode_frame(type_, seq, payload)) == [Frame(1, type_, seq, 0, payload)]

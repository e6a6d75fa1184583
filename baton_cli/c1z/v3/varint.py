"""Unsigned LEB128 integers, as protobuf and Pebble write them."""

from __future__ import annotations


class VarintError(ValueError):
    pass


def read_uvarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The value at ``pos`` and the position after it."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise VarintError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise VarintError("varint longer than 10 bytes")


def read_bytes(buf: bytes | memoryview, pos: int) -> tuple[bytes, int]:
    """A uvarint length and that many bytes."""
    length, pos = read_uvarint(buf, pos)
    if pos + length > len(buf):
        raise VarintError("length-prefixed bytes run past the end")
    return bytes(buf[pos : pos + length]), pos + length

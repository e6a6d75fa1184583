"""Baton's key layout inside the Pebble store (c1z-v3.md §7.1).

Key = ``03``, a family byte, then a tuple of elements. Records are built from
their values, so only the family ranges and the engine-meta keys are needed;
tuple coding is here for those keys (and for tests that build files).
"""

from __future__ import annotations

from collections.abc import Sequence

PREFIX = 0x03
RESOURCE_TYPE, RESOURCE, ENTITLEMENT, GRANT, ASSET, SYNC_RUN, INDEX = 1, 2, 3, 4, 5, 6, 7
META = 0xFF
SYNC_RUN_KEY = bytes([PREFIX, SYNC_RUN])

KEYSPACE_VERSION = 2
GRANT_ENTITLEMENT_ID_FORMAT = 2
META_KEYSPACE_VERSION = b"keyspace_version"
META_ID_FORMAT = b"grant_entitlement_id_format"
META_STATS = (b"stats", b"")

_SEPARATOR = 0x00
_ESCAPE = 0x01


def family_range(family: int) -> tuple[bytes, bytes | None]:
    """[lower, upper) of every key of one family."""
    lower = bytes([PREFIX, family])
    upper = bytes([PREFIX, family + 1]) if family < META else bytes([PREFIX + 1])
    return lower, upper


def encode_element(value: bytes) -> bytes:
    return value.replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01")


def encode_tuple(elements: Sequence[bytes]) -> bytes:
    return bytes([_SEPARATOR]).join(encode_element(e) for e in elements)


def decode_tuple(tail: bytes) -> list[bytes]:
    return [_unescape(part) for part in tail.split(bytes([_SEPARATOR]))]


def _unescape(part: bytes) -> bytes:
    if _ESCAPE not in part:
        return part
    out = bytearray()
    i = 0
    while i < len(part):
        byte = part[i]
        if byte == _ESCAPE and i + 1 < len(part) and part[i + 1] in (1, 2):
            out.append(part[i + 1] - 1)
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def meta_key(elements: Sequence[bytes]) -> bytes:
    return bytes([PREFIX, META]) + encode_tuple(elements)

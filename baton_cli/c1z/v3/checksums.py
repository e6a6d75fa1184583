"""The checksums of the v3 format: XXH64 (envelope) and masked CRC-32C (Pebble), from libraries."""

from __future__ import annotations

import google_crc32c
import xxhash

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def xxh64(data: bytes | memoryview) -> int:
    return int(xxhash.xxh64_intdigest(data))


def crc32c(data: bytes | memoryview) -> int:
    return int(google_crc32c.value(bytes(data)))


def masked_crc32c(data: bytes | memoryview) -> int:
    """LevelDB's mask (c1z-v3.md §4.3): a CRC stored next to the data it covers is rotated and offset."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & _U32) + _MASK_DELTA) & _U32

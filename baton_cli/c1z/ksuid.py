"""KSUIDs: the sortable 27-character ids upstream uses for sync runs.

Layout (segmentio/ksuid): 4-byte big-endian seconds since 1400000000, then
16 random bytes; the 20 bytes are written as a base62 number, left-padded
with '0' to 27 characters, so text order follows creation second.
"""

from __future__ import annotations

import secrets
import time

EPOCH = 1_400_000_000
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {ch: i for i, ch in enumerate(_ALPHABET)}
_LENGTH = 27
_PAYLOAD_BYTES = 16


def new_ksuid(*, unix_seconds: int | None = None, payload: bytes | None = None) -> str:
    """A fresh KSUID; both parts may be fixed for reproducible tests."""
    seconds = int(time.time()) if unix_seconds is None else unix_seconds
    offset = seconds - EPOCH
    if not 0 <= offset < 2**32:
        raise ValueError(f"time {seconds} is outside the KSUID range")
    body = secrets.token_bytes(_PAYLOAD_BYTES) if payload is None else payload
    if len(body) != _PAYLOAD_BYTES:
        raise ValueError("KSUID payload must be 16 bytes")
    return _encode(offset.to_bytes(4, "big") + body)


def ksuid_unix_seconds(value: str) -> int:
    """The creation time (Unix seconds) embedded in a KSUID string."""
    return int.from_bytes(_decode(value)[:4], "big") + EPOCH


def ksuid_payload(value: str) -> bytes:
    return _decode(value)[4:]


def _encode(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    chars: list[str] = []
    while number:
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars)).rjust(_LENGTH, "0")


def _decode(value: str) -> bytes:
    if len(value) != _LENGTH:
        raise ValueError(f"a KSUID has {_LENGTH} characters, got {len(value)}")
    number = 0
    for ch in value:
        digit = _INDEX.get(ch)
        if digit is None:
            raise ValueError(f"invalid KSUID character {ch!r}")
        number = number * 62 + digit
    if number >= 1 << 160:
        raise ValueError("KSUID value out of range")
    return number.to_bytes(20, "big")

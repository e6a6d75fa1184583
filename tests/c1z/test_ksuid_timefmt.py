from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton_cli.c1z.ksuid import EPOCH, ksuid_payload, ksuid_unix_seconds, new_ksuid
from baton_cli.c1z.timefmt import format_datetime, format_ns, now_text, parse_text

# Published example from the KSUID reference implementation (segmentio/ksuid README).
KNOWN = "0ujtsYcgvSTl8PAuAdqWYSMnLOv"
KNOWN_SECONDS = 107608047 + EPOCH
KNOWN_PAYLOAD = bytes.fromhex("B5A1CD34B5F99D1154FB6853345C9735")


def test_ksuid_known_vector_round_trips() -> None:
    assert ksuid_unix_seconds(KNOWN) == KNOWN_SECONDS
    assert ksuid_payload(KNOWN) == KNOWN_PAYLOAD
    assert new_ksuid(unix_seconds=KNOWN_SECONDS, payload=KNOWN_PAYLOAD) == KNOWN


def test_ksuid_extremes_are_zero_padded_27_chars() -> None:
    assert new_ksuid(unix_seconds=EPOCH, payload=bytes(16)) == "0" * 27
    assert new_ksuid(unix_seconds=EPOCH + 2**32 - 1, payload=b"\xff" * 16) == "aWgEPTl1tmebfsQzFP4bxwgy80V"


def test_upstream_sync_ids_decode_to_their_start_second() -> None:
    # small-expanded: started_at 2025-12-17 16:31:25 local (US Pacific) = 23:31:25 UTC
    assert ksuid_unix_seconds("36zfOAoWMxQdISbixanQCRBiX7E") == 1766014285


def test_new_ksuids_are_unique_and_current() -> None:
    before = int(time.time())
    made = {new_ksuid() for _ in range(200)}
    assert len(made) == 200
    assert all(len(k) == 27 and k.isalnum() for k in made)
    assert all(before <= ksuid_unix_seconds(k) <= int(time.time()) for k in made)


@given(
    st.integers(EPOCH, EPOCH + 2**32 - 2),
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
)
def test_ksuid_text_order_follows_time(seconds: int, payload_a: bytes, payload_b: bytes) -> None:
    earlier = new_ksuid(unix_seconds=seconds, payload=payload_a)
    later = new_ksuid(unix_seconds=seconds + 1, payload=payload_b)
    assert earlier < later
    assert ksuid_payload(earlier) == payload_a


def test_ksuid_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ksuid_unix_seconds("short")
    with pytest.raises(ValueError):
        ksuid_unix_seconds("!" * 27)
    with pytest.raises(ValueError):
        new_ksuid(unix_seconds=EPOCH - 1)


@pytest.fixture
def utc() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "UTC")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("unix_ns", "text"),
    [
        (0, "1970-01-01 00:00:00"),
        (1_500_000_000, "1970-01-01 00:00:01.5"),
        (1, "1970-01-01 00:00:00.000000001"),
        (1_766_014_285_057_185_000, "2025-12-17 23:31:25.057185"),
        (1_766_014_285_123_456_789, "2025-12-17 23:31:25.123456789"),
    ],
)
def test_format_ns_layout(utc: None, unix_ns: int, text: str) -> None:
    assert format_ns(unix_ns) == text


def test_format_uses_local_wall_clock() -> None:
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert format_ns(1_766_014_285_057_185_000) == "2025-12-17 15:31:25.057185"
    finally:
        mp.undo()
        time.tzset()


@given(st.integers(0, 4_000_000_000 * 10**9), st.integers(1, 10**12))
def test_text_order_is_time_order(start: int, delta: int) -> None:
    assert format_ns(start) < format_ns(start + delta)


def test_datetime_format_and_parse_round_trip() -> None:
    value = datetime(2025, 12, 17, 16, 31, 25, 57185)
    assert format_datetime(value) == "2025-12-17 16:31:25.057185"
    assert format_datetime(value.replace(microsecond=0)) == "2025-12-17 16:31:25"
    assert parse_text("2025-12-17 16:31:25.057185") == value
    assert parse_text("2026-11-28 03:51:14.23586799") == datetime(2026, 11, 28, 3, 51, 14, 235867)
    assert parse_text(now_text()) <= datetime.now()

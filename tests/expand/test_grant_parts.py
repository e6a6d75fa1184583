"""Reading a source grant's principal and sources from its bytes (core.grant_parts)."""

from __future__ import annotations

import pytest
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

from baton_cli.connector.api import Entitlement, Grant
from baton_cli.core import expand
from baton_cli.core.grant_parts import HolderReader, length_delimited, split_principal_and_sources
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2
from tests.expand.fake_store import resource


def _grant(*, sources: dict[str, bool] | None = None, long: bool = False) -> Grant:
    owner = resource("group", "g" * (300 if long else 1))
    owner.description = "d" * (20_000 if long else 5)  # lengths needing 2- and 3-byte varints
    principal = resource("user", "u1")
    principal.display_name = "p" * (200 if long else 2)
    grant = Grant(id="group:g:member:user:u1", entitlement=Entitlement(id="group:g:member", resource=owner))
    grant.principal.CopyFrom(principal)
    immutable = any_pb2.Any()
    immutable.Pack(annotation_grant_pb2.GrantImmutable())
    grant.annotations.append(immutable)
    for source_id, direct in (sources or {}).items():
        grant.sources.sources[source_id].is_direct = direct
    return grant


def _expected(data: bytes) -> tuple[bytes, frozenset[str]]:
    grant = Grant.FromString(data)
    return expand.principal_field(grant.principal), frozenset(grant.sources.sources)


@pytest.mark.parametrize("long", [False, True])
@pytest.mark.parametrize("sources", [None, {"a": True}, {"b": False, "a": True, "é" * 90: False}])
def test_split_reads_what_a_decode_reads(long: bool, sources: dict[str, bool] | None) -> None:
    data = _grant(sources=sources, long=long).SerializeToString(deterministic=True)
    principal, source_bytes = split_principal_and_sources(data) or (b"?", b"?")
    assert principal == _grant(long=long).principal.SerializeToString(deterministic=True)
    assert source_bytes == (_grant(sources=sources).sources.SerializeToString(deterministic=True))
    reader = HolderReader()
    for _ in range(2):  # the second time from the caches
        stored, keys = reader.read(data)
        assert (reader.principal_field(stored), keys) == _expected(data)


def test_fields_in_any_order_and_a_missing_principal() -> None:
    grant = _grant(sources={"x": False})
    # Reversed field order, as another writer may emit it, and no principal at all.
    fields = [
        length_delimited(tag, payload)
        for tag, payload in (
            (b"\x2a", grant.sources.SerializeToString()),
            (b"\x1a", grant.id.encode()),
            (b"\x0a", grant.entitlement.SerializeToString()),
        )
    ]
    data = b"".join(fields)
    assert split_principal_and_sources(data) == (b"", grant.sources.SerializeToString())
    reader = HolderReader()
    stored, keys = reader.read(data)
    assert (reader.principal_field(stored), keys) == _expected(data) == (b"\x12\x00", frozenset({"x"}))


def test_unknown_fields_of_other_wire_types_and_repeated_fields_are_decoded_instead() -> None:
    base = _grant(sources={"x": True}).SerializeToString(deterministic=True)
    other_principal = resource("user", "u2").SerializeToString()
    odd = [
        base + b"\x30\x01",  # field 6, varint: not split
        base + b"\x82\x01\x00",  # field 16 (two-byte tag): not split
        base + length_delimited(b"\x12", other_principal),  # principal twice: a decoder merges them
        base + length_delimited(b"\x2a", b""),  # sources twice
    ]
    reader = HolderReader()
    for data in odd:
        assert split_principal_and_sources(data) is None
        stored, keys = reader.read(data)
        assert (reader.principal_field(stored), keys) == _expected(data)


def test_truncated_bytes_are_not_split_and_decoding_them_fails_as_before() -> None:
    data = _grant(long=True).SerializeToString(deterministic=True)
    for cut in (1, 2, 3, len(data) // 2, len(data) - 1):
        assert split_principal_and_sources(data[:cut]) is None
    with pytest.raises(DecodeError):
        HolderReader().read(data[: len(data) // 2])

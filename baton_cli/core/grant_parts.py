"""What grant expansion reads of a source grant, taken from its bytes without decoding it.

Expansion reads every grant of a source entitlement but needs only two of its fields: the
principal (copied into the grant it creates) and the keys of its sources map (is the grant
direct?). Decoding the whole grant (its entitlement, with the entitlement's resource, is most of
its bytes) and serializing the principal again cost more than the rest of the loop, so the
top-level fields are split by their length prefixes instead, and what comes out is cached by
its bytes: many grants carry the same principal, and most carry the same (or no) sources.
"""

from __future__ import annotations

from collections.abc import Mapping

from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2

_PRINCIPAL_TAG = 0x12  # Grant.principal = 2, length-delimited
_SOURCES_TAG = 0x2A  # Grant.sources = 5, length-delimited
_PRINCIPAL_FIELD_TAG = bytes((_PRINCIPAL_TAG,))
# Distinct principals / sources kept; a cache this size holds a few MB and is cleared when full.
_CACHE_LIMIT = 50_000


def split_principal_and_sources(data: bytes) -> tuple[bytes, bytes] | None:
    """The payloads of a serialized grant's principal and sources fields (``b""`` when absent).

    None when the bytes hold anything the split does not read as a decoder would: a field
    other than length-delimited fields 1-15, a field given twice (a decoder merges the two), or
    a truncated field. The caller decodes the grant then; it gets the same answer or the error.
    """
    principal: bytes | None = None
    sources: bytes | None = None
    pos, end = 0, len(data)
    try:
        while pos < end:
            tag = data[pos]
            if tag & 0x87 != 2:  # wire type 2 and a one-byte tag (fields 1-15)
                return None
            size = data[pos + 1]
            pos += 2
            if size > 0x7F:
                size &= 0x7F
                shift = 7
                while True:
                    byte = data[pos]
                    pos += 1
                    size |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
            stop = pos + size
            if stop > end:
                return None
            if tag == _PRINCIPAL_TAG:
                if principal is not None:
                    return None
                principal = data[pos:stop]
            elif tag == _SOURCES_TAG:
                if sources is not None:
                    return None
                sources = data[pos:stop]
            pos = stop
    except IndexError:
        return None
    return principal or b"", sources or b""


class HolderReader:
    """A source grant's principal bytes and source keys, cached by the bytes they come from."""

    __slots__ = ("_principals", "_sources")

    def __init__(self) -> None:
        self._principals: dict[bytes, bytes] = {}
        self._sources: dict[bytes, frozenset[str]] = {b"": frozenset()}

    def read(self, data: bytes) -> tuple[bytes, frozenset[str]]:
        """(principal payload as stored, keys of the grant's sources map) of a serialized grant.

        The principal payload is what the grant holds, not yet in deterministic form: use
        ``principal_field`` on it when a grant is built from it.
        """
        parts = split_principal_and_sources(data)
        if parts is None:
            return self.decode(data)
        principal, sources = parts
        return principal, self._sources.get(sources) or self.source_keys(sources)

    @staticmethod
    def decode(data: bytes) -> tuple[bytes, frozenset[str]]:
        """``read`` by decoding the whole grant, for bytes the split does not take."""
        grant = grant_pb2.Grant.FromString(data)
        return grant.principal.SerializeToString(deterministic=True), frozenset(grant.sources.sources)

    @property
    def cached_source_keys(self) -> Mapping[bytes, frozenset[str]]:
        """``source_keys``'s cache, for a hot loop to look in before calling it."""
        return self._sources

    def source_keys(self, sources: bytes) -> frozenset[str]:
        """The keys of a serialized ``GrantSources`` map, cached by its bytes."""
        keys = self._sources.get(sources)
        if keys is None:
            if len(self._sources) >= _CACHE_LIMIT:
                self._sources = {b"": frozenset()}
            keys = self._sources[sources] = frozenset(grant_pb2.GrantSources.FromString(sources).sources)
        return keys

    @property
    def principal_fields(self) -> Mapping[bytes, bytes]:
        """``principal_field``'s cache, for a hot loop to look in before calling it."""
        return self._principals

    def principal_field(self, stored: bytes) -> bytes:
        """``Grant.principal`` (tag, length, deterministic serialization) of a stored payload."""
        found = self._principals.get(stored)
        if found is None:
            if len(self._principals) >= _CACHE_LIMIT:
                self._principals.clear()
            canonical = resource_pb2.Resource.FromString(stored).SerializeToString(deterministic=True)
            found = self._principals[stored] = length_delimited(_PRINCIPAL_FIELD_TAG, canonical)
        return found


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# The varint of every length below 0x80, the common case, ready made.
SHORT_LENGTHS = [bytes((n,)) for n in range(0x80)]


def length_delimited(tag: bytes, payload: bytes) -> bytes:
    """A serialized length-delimited field: ``tag``, the payload's length, the payload."""
    size = len(payload)
    return tag + (SHORT_LENGTHS[size] if size < 0x80 else varint(size)) + payload

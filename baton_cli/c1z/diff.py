"""What changed between two syncs: a streamed merge-join on ``external_id``.

Both sides are read in ``external_id`` order (the order of the unique index),
so the comparison holds one row per side in memory however big the syncs are;
only the row ids of the differences are kept, to fetch them again for output.
The two syncs may live in one file or in two (each side has its own store).

"Changed" means different content: rows whose bytes differ are decoded and
compared canonically (map order, also inside annotations, does not count), with
embedded copies of other objects compared by id: so a v1 and a v3 file of the
same data, written by different engines, show no differences.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf.message import Message

from baton_cli.c1z.canonical import canonical_bytes, without_embedded_copies
from baton_cli.c1z.inspect_queries import DIFF_TABLES, InspectQueries, KeyedRow
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, entitlement_pb2, grant_pb2, resource_pb2

KINDS = tuple(DIFF_TABLES)
_MESSAGES: dict[str, type[Message]] = {
    "resources": resource_pb2.Resource,
    "entitlements": entitlement_pb2.Entitlement,
    "grants": grant_pb2.Grant,
}


@dataclass(frozen=True, slots=True)
class Side:
    queries: InspectQueries
    sync_id: str


@dataclass(slots=True)
class KindDiff:
    kind: str
    added: list[int] = field(default_factory=list)  # row ids in the applied (new) side
    removed: list[int] = field(default_factory=list)  # row ids in the base (old) side
    changed: list[int] = field(default_factory=list)  # row ids in the applied side

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_kind(base: Side, applied: Side, kind: str) -> KindDiff:
    """Added, removed and changed rows of ``kind``; changed = same id, different serialized bytes."""
    result = KindDiff(kind)
    old = base.queries.keyed_rows(kind, base.sync_id)
    new = applied.queries.keyed_rows(kind, applied.sync_id)
    for a, b in _merge(old, new):
        if a is None and b is not None:
            result.added.append(b.row_id)
        elif b is None and a is not None:
            result.removed.append(a.row_id)
        elif a is not None and b is not None and _changed(kind, a, b):
            result.changed.append(b.row_id)
    return result


def _changed(kind: str, a: KeyedRow, b: KeyedRow) -> bool:
    if (a.data, a.expansion) == (b.data, b.expansion):
        return False  # the common case, without decoding
    message = _MESSAGES[kind]
    if _content(message, a.data) != _content(message, b.data):
        return True
    if a.expansion == b.expansion:
        return False
    if a.expansion is None or b.expansion is None:
        return True
    expandable = annotation_grant_pb2.GrantExpandable
    return _content(expandable, a.expansion) != _content(expandable, b.expansion)


def _content(message: type[Message], data: bytes) -> bytes:
    return canonical_bytes(without_embedded_copies(message.FromString(data)))


def _merge(
    old: Iterator[KeyedRow], new: Iterator[KeyedRow]
) -> Iterator[tuple[KeyedRow | None, KeyedRow | None]]:
    # Python orders str by code point, which is SQLite's BINARY order for UTF-8 text.
    a = next(old, None)
    b = next(new, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.key < b.key):
            yield a, None
            a = next(old, None)
        elif a is None or b.key < a.key:
            yield None, b
            b = next(new, None)
        else:
            yield a, b
            a = next(old, None)
            b = next(new, None)

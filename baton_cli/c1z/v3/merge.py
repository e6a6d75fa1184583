"""The latest-state view over every live table (c1z-v3.md §6): what a Pebble read at the newest snapshot sees.

Rules, applied exactly because a reader that gets them wrong returns stale rows
that look right on small files:

1. A table whose MANIFEST seqnum range is a single number (an ingested table, stored with
   seqnum 0) gives that number to each of its point entries and range deletions.
2. A virtual table exposes only the user keys inside its bounds; its range deletions are cut
   to the same bounds.
3. Per user key the entry with the highest seqnum wins, whatever its level.
4. The key is absent if the winner is a tombstone, or a range deletion covering it has a
   strictly higher seqnum.

Tables are merged with a k-way heap over per-table iterators, so memory holds one data block
per table plus the (small) set of range deletions.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from baton_cli.c1z.v3.pebble_manifest import TableMeta
from baton_cli.c1z.v3.problems import unsupported
from baton_cli.c1z.v3.sstable import TOMBSTONES, RangeDeletion, Table
from baton_cli.errors import C1ZUnsupportedFormat


class Version(NamedTuple):
    key: bytes
    seqnum: int
    kind: int
    value: bytes
    external: bool


@dataclass(frozen=True, slots=True)
class LiveTable:
    meta: TableMeta
    table: Table

    def bounds(self, lower: bytes, upper: bytes | None) -> tuple[bytes, bytes | None] | None:
        """The part of [lower, upper) this table may answer; None if nothing."""
        meta = self.meta
        if meta.virtual:
            lower = max(lower, meta.lower)
            # The smallest key after an inclusive upper bound u is u + 00 (bytewise order).
            own_upper = meta.upper if meta.upper_exclusive else meta.upper + b"\x00"
            upper = own_upper if upper is None else min(upper, own_upper)
        elif (upper is not None and meta.lower >= upper) or meta.upper < lower:
            return None
        if upper is not None and lower >= upper:
            return None
        return lower, upper

    def versions(self, lower: bytes, upper: bytes | None) -> Iterator[Version]:
        span = self.bounds(lower, upper)
        if span is None:
            return
        fixed = self.meta.single_seqnum
        for entry in self.table.entries(*span):
            seqnum = entry.trailer >> 8 if fixed is None else fixed
            yield Version(entry.key, seqnum, entry.trailer & 0xFF, entry.value, entry.external)

    def range_deletions(self) -> list[RangeDeletion]:
        fixed = self.meta.single_seqnum
        spans = []
        for span in self.table.range_deletions():
            start, end = span.start, span.end
            if self.meta.virtual:
                clipped = self.bounds(start, end)
                if clipped is None or clipped[1] is None:
                    continue
                start, end = clipped[0], clipped[1]
            spans.append(RangeDeletion(start, end, span.seqnum if fixed is None else fixed))
        return spans


def fragment(deletions: Iterable[RangeDeletion]) -> list[RangeDeletion]:
    """Non-overlapping spans in key order, each with the highest seqnum covering it."""
    spans = sorted(deletions, key=lambda d: d.start)
    points = sorted({d.start for d in spans} | {d.end for d in spans})
    out: list[RangeDeletion] = []
    active: list[tuple[int, bytes]] = []  # heap of (-seqnum, end)
    next_span = 0
    for i, point in enumerate(points[:-1]):
        while next_span < len(spans) and spans[next_span].start <= point:
            heapq.heappush(active, (-spans[next_span].seqnum, spans[next_span].end))
            next_span += 1
        while active and active[0][1] <= point:
            heapq.heappop(active)
        if active:
            seqnum = -active[0][0]
            following = points[i + 1]
            if out and out[-1].end == point and out[-1].seqnum == seqnum:
                out[-1] = RangeDeletion(out[-1].start, following, seqnum)
            else:
                out.append(RangeDeletion(point, following, seqnum))
    return out


class RangeCover:
    """Answers "the highest range-deletion seqnum over key k" for keys asked in ascending order."""

    def __init__(self, fragments: Sequence[RangeDeletion]) -> None:
        self._fragments = fragments
        self._pos = 0

    def seqnum_at(self, key: bytes) -> int:
        fragments = self._fragments
        while self._pos < len(fragments) and fragments[self._pos].end <= key:
            self._pos += 1
        if self._pos < len(fragments) and fragments[self._pos].start <= key:
            return fragments[self._pos].seqnum
        return -1


def latest(
    label: Path,
    tables: Sequence[LiveTable],
    fragments: Sequence[RangeDeletion],
    lower: bytes,
    upper: bytes | None,
) -> Iterator[tuple[bytes, bytes]]:
    """(user key, value) of every live key in [lower, upper), in key order."""
    answering = [t for t in tables if t.bounds(lower, upper) is not None]
    covering = [f for f in fragments if (upper is None or f.start < upper) and f.end > lower]
    if len(answering) == 1:
        # Each key family of a compacted file lives in one table: nothing to merge.
        return _one_table(label, answering[0], covering, lower, upper)
    return merged(label, answering, covering, lower, upper)


def merged(
    label: Path,
    tables: Sequence[LiveTable],
    fragments: Sequence[RangeDeletion],
    lower: bytes,
    upper: bytes | None,
) -> Iterator[tuple[bytes, bytes]]:
    """``latest`` over any number of tables: a k-way merge of their versions."""
    streams = [t.versions(lower, upper) for t in tables]
    # Highest seqnum first within a key; on a tie the earlier (newer) table wins.
    heap = heapq.merge(*streams, key=lambda v: (v.key, -v.seqnum))
    cover = RangeCover(fragments)
    current: bytes | None = None
    for version in heap:
        if version.key == current:
            continue  # an older version of the key just decided
        current = version.key
        if version.kind in TOMBSTONES or cover.seqnum_at(version.key) > version.seqnum:
            continue
        if version.external:
            raise _value_block(label)
        yield version.key, version.value


def _one_table(
    label: Path,
    table: LiveTable,
    fragments: Sequence[RangeDeletion],
    lower: bytes,
    upper: bytes | None,
) -> Iterator[tuple[bytes, bytes]]:
    """``merged`` for a single table, without the heap and the per-entry Version: a table
    holds a key's versions newest first, so the first entry of each key decides it."""
    span = table.bounds(lower, upper)
    if span is None:
        return
    fixed = table.meta.single_seqnum
    cover = RangeCover(fragments) if fragments else None
    current: bytes | None = None
    for key, trailer, value, external in table.table.entries(*span):
        if key == current:
            continue
        current = key
        if trailer & 0xFF in TOMBSTONES:
            continue
        if cover is not None and cover.seqnum_at(key) > (trailer >> 8 if fixed is None else fixed):
            continue
        if external:
            raise _value_block(label)
        yield key, value


def _value_block(label: Path) -> C1ZUnsupportedFormat:
    return unsupported(label, "a value stored outside its data block (value block) for the newest version")

"""The merge rules the samples cannot catch (c1z-v3.md §6, §8), and the byte layouts of §3 and §5.

Virtual-table clipping and the single-seqnum rule of ingested tables change nothing on the
upstream samples, so they are tested here on crafted MANIFEST records and tables: a fake table
(unit tests only) stands for an SST's point entries and range deletions.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton_cli.c1z.v3.colblk import BYTES, UINT, ColumnarBlock, decode_prefix_bytes
from baton_cli.c1z.v3.keyspace import decode_tuple, encode_tuple
from baton_cli.c1z.v3.merge import LiveTable, fragment, latest, merged
from baton_cli.c1z.v3.pebble_manifest import MAX_SEQNUM, TableMeta, live_tables
from baton_cli.c1z.v3.sstable import (
    INDEX_SCHEMA,
    KEYSPAN_HEADER,
    KEYSPAN_SCHEMA,
    KIND_DEL,
    KIND_RANGEDEL,
    KIND_SET,
    Entry,
    RangeDeletion,
)
from baton_cli.errors import C1ZError, C1ZUnsupportedFormat
from tests.c1z import v3_support as v3
from tests.external import fixture_path

LABEL = Path("crafted.c1z")


class FakeTable:
    """Point entries (key, seqnum, kind, value) and range deletions, as a table file would give them."""

    def __init__(
        self, entries: list[tuple[bytes, int, int, bytes]], deletions: list[RangeDeletion] | None = None
    ) -> None:
        self._entries = sorted(entries, key=lambda e: (e[0], -e[1]))
        self._deletions = deletions or []

    def entries(self, lower: bytes, upper: bytes | None) -> Iterator[Entry]:
        for key, seqnum, kind, value in self._entries:
            if key >= lower and (upper is None or key < upper):
                yield Entry(key, seqnum << 8 | kind, value, False)

    def range_deletions(self) -> list[RangeDeletion]:
        return list(self._deletions)


def ikey(user_key: bytes, seqnum: int, kind: int = KIND_SET) -> bytes:
    return user_key + struct.pack("<Q", seqnum << 8 | kind)


def meta(
    number: int,
    lower: bytes,
    upper: bytes,
    seqnums: tuple[int, int],
    *,
    level: int = 6,
    backing: int | None = None,
    upper_trailer: tuple[int, int] | None = None,
) -> TableMeta:
    seq, kind = upper_trailer or (seqnums[1], KIND_SET)
    return TableMeta(level, number, ikey(lower, seqnums[0]), ikey(upper, seq, kind), *seqnums, backing)


def live(table_meta: TableMeta, table: FakeTable) -> LiveTable:
    return LiveTable(table_meta, table)  # type: ignore[arg-type]


def read(tables: list[LiveTable], lower: bytes = b"", upper: bytes | None = None) -> dict[bytes, bytes]:
    fragments = fragment(d for t in tables for d in t.range_deletions())
    found = list(latest(LABEL, tables, fragments, lower, upper))
    # A range only one table answers skips the heap: both paths must see the same keys.
    assert found == list(merged(LABEL, tables, fragments, lower, upper))
    return dict(found)


# -- §6 rule 1: ingested tables take their one seqnum ----------------------------------------


def test_ingested_table_entries_take_the_manifest_seqnum() -> None:
    # Ingested at #50 but stored with seqnum 0; an older flush wrote the same key at #40.
    ingested = live(meta(9, b"k", b"k", (50, 50)), FakeTable([(b"k", 0, KIND_SET, b"new")]))
    older = live(meta(5, b"k", b"k", (40, 40), level=0), FakeTable([(b"k", 40, KIND_SET, b"old")]))
    # A multi-seqnum table keeps its entries' own numbers.
    flushed = live(meta(6, b"a", b"k", (10, 60), level=0), FakeTable([(b"a", 45, KIND_SET, b"a")]))
    assert read([older, ingested, flushed]) == {b"a": b"a", b"k": b"new"}
    assert ingested.meta.single_seqnum == 50 and flushed.meta.single_seqnum is None


def test_ingested_range_deletion_takes_the_manifest_seqnum() -> None:
    # A range deletion stored at 0 in a table ingested at #70 deletes a key written at #60.
    ingested = live(meta(9, b"a", b"z", (70, 70)), FakeTable([], [RangeDeletion(b"a", b"z", 0)]))
    data = live(meta(5, b"m", b"m", (60, 60), level=0), FakeTable([(b"m", 60, KIND_SET, b"v")]))
    assert read([data, ingested]) == {}
    # ...and not a key written after it.
    newer = live(meta(7, b"m", b"m", (80, 80), level=0), FakeTable([(b"m", 80, KIND_SET, b"w")]))
    assert read([newer, data, ingested]) == {b"m": b"w"}


# -- §6 rules 2-3 ---------------------------------------------------------------------------


def test_highest_seqnum_wins_whatever_the_level() -> None:
    deep = live(
        meta(1, b"a", b"b", (1, 30)), FakeTable([(b"a", 30, KIND_SET, b"deep"), (b"b", 5, KIND_SET, b"b")])
    )
    shallow = live(meta(2, b"a", b"b", (10, 20), level=0), FakeTable([(b"a", 20, KIND_SET, b"shallow")]))
    assert read([shallow, deep]) == {b"a": b"deep", b"b": b"b"}


def test_tombstones_and_strictly_newer_range_deletions_drop_keys() -> None:
    table = live(
        meta(1, b"a", b"d", (1, 9)),
        FakeTable(
            [
                (b"a", 5, KIND_SET, b"1"),
                (b"a", 6, KIND_DEL, b""),
                (b"b", 7, KIND_SET, b"2"),
                (b"c", 3, KIND_SET, b"3"),
            ],
            [RangeDeletion(b"b", b"d", 7)],  # same seqnum as b: b stays; c (3) is deleted
        ),
    )
    assert read([table]) == {b"b": b"2"}


def test_fragments_keep_the_highest_seqnum_of_overlaps() -> None:
    spans = fragment(
        [RangeDeletion(b"a", b"m", 5), RangeDeletion(b"f", b"z", 9), RangeDeletion(b"p", b"q", 2)]
    )
    assert spans == [RangeDeletion(b"a", b"f", 5), RangeDeletion(b"f", b"z", 9)]


# -- §3.3: virtual tables are clipped to their bounds ---------------------------------------


BACKING = [(bytes([c]), 10, KIND_SET, bytes([c]).upper()) for c in b"abcde"]


def test_virtual_table_exposes_only_its_inclusive_bounds() -> None:
    virtual = live(meta(17, b"b", b"d", (10, 10), level=0, backing=7), FakeTable(BACKING))
    assert read([virtual]) == {b"b": b"B", b"c": b"C", b"d": b"D"}
    assert read([virtual], b"c", b"d") == {b"c": b"C"}


def test_virtual_table_with_a_sentinel_upper_bound_excludes_it() -> None:
    sentinel = (MAX_SEQNUM, KIND_RANGEDEL)
    virtual = live(
        meta(17, b"b", b"d", (10, 10), level=0, backing=7, upper_trailer=sentinel), FakeTable(BACKING)
    )
    assert virtual.meta.upper_exclusive
    assert read([virtual]) == {b"b": b"B", b"c": b"C"}


def test_two_virtual_tables_on_one_backing_see_their_own_parts() -> None:
    backing = FakeTable(BACKING)
    left = live(meta(16, b"a", b"b", (10, 10), level=0, backing=7), backing)
    right = live(meta(17, b"d", b"e", (10, 10), level=0, backing=7), backing)
    assert read([left, right]) == {b"a": b"A", b"b": b"B", b"d": b"D", b"e": b"E"}  # c was excised


def test_range_deletions_of_a_virtual_table_are_clipped() -> None:
    # The backing deletes [a, z) at #90; the virtual table only covers [b, c].
    virtual = live(
        meta(17, b"b", b"c", (90, 90), level=0, backing=7), FakeTable([], [RangeDeletion(b"a", b"z", 90)])
    )
    others = live(
        meta(3, b"a", b"x", (20, 20)), FakeTable([(k, 20, KIND_SET, k) for k in (b"a", b"b", b"c", b"x")])
    )
    assert read([virtual, others]) == {b"a": b"a", b"x": b"x"}


def test_an_external_winning_value_is_refused() -> None:
    class External(FakeTable):
        def entries(self, lower: bytes, upper: bytes | None) -> Iterator[Entry]:
            for entry in super().entries(lower, upper):
                yield entry._replace(external=True)

    table = live(meta(1, b"a", b"a", (1, 5)), External([(b"a", 5, KIND_SET, b"handle")]))
    with pytest.raises(C1ZUnsupportedFormat, match="value block"):
        read([table])


# -- §3: MANIFEST version edits -------------------------------------------------------------


def _edit(*fields: bytes) -> bytes:
    return b"".join(fields)


def _u(n: int) -> bytes:
    return v3.encode_uvarint(n)


def _new_table(
    level: int, number: int, lower: bytes, upper: bytes, seqnums: tuple[int, int], custom: bytes
) -> bytes:
    smallest, largest = ikey(lower, seqnums[0]), ikey(upper, seqnums[1])
    return _edit(
        _u(103), _u(level), _u(number), _u(1000), _u(len(smallest)), smallest, _u(len(largest)), largest,
        _u(seqnums[0]), _u(seqnums[1]), custom, _u(1),
    )  # fmt: skip


def test_version_edits_give_the_live_set(tmp_path: Path) -> None:
    comparer = b"leveldb.BytewiseComparator"
    records = [
        _edit(_u(1), _u(len(comparer)), comparer, _u(2), _u(3), _u(3), _u(10), _u(4), _u(0)),
        _new_table(0, 7, b"\x03\x01", b"\x03\x09", (1, 30), b"\x06\x05" + _u(1795837874)),
        _edit(_u(105), _u(7), _u(4930), _u(6), _u(0), _u(7))  # backing 7 created, table 7 deleted ...
        + _new_table(0, 10, b"\x03\x01", b"\x03\x04", (1, 30), b"\x42" + _u(7))  # ... virtual 10 on it
        + _new_table(6, 9, b"\x03\x05", b"\x03\x05", (40, 40), b""),
        _edit(_u(6), _u(6), _u(9)) + _new_table(5, 9, b"\x03\x05", b"\x03\x05", (40, 40), b""),  # a move
    ]
    manifest = tmp_path / "MANIFEST-000001"
    manifest.write_bytes(b"".join(v3.manifest_chunk(r) for r in records))
    tables = live_tables(LABEL, manifest)
    assert [(t.level, t.number, t.backing, t.file_number) for t in tables] == [(0, 10, 7, 7), (5, 9, None, 9)]
    assert tables[0].lower == b"\x03\x01" and tables[0].upper == b"\x03\x04" and not tables[0].upper_exclusive
    assert tables[1].single_seqnum == 40


def test_multi_chunk_records_are_joined(tmp_path: Path) -> None:
    record = _new_table(6, 4, b"\x03\x01", b"\x03\x01", (12, 12), b"")
    first, last = record[:10], record[10:]
    log = struct.pack("<IHB", v3.masked_crc(b"\x02" + first), len(first), 2) + first
    log += struct.pack("<IHB", v3.masked_crc(b"\x04" + last), len(last), 4) + last
    manifest = tmp_path / "MANIFEST-000002"
    manifest.write_bytes(log)
    assert [t.number for t in live_tables(LABEL, manifest)] == [4]


# -- §5: columnar blocks, from the spec's worked examples -----------------------------------


def _columns(header: bytes, rows: int, columns: list[tuple[int, int]]) -> bytes:
    return (
        header
        + struct.pack("<BHI", 1, len(columns), rows)
        + b"".join(struct.pack("<BI", t, o) for t, o in columns)
    )


def test_index_block_of_000021() -> None:
    # §5.7: separator 04, offset 0 (width 0), length 698, no properties; 38 bytes.
    block = _columns(b"", 1, [(3, 0x1B), (2, 0x1F), (2, 0x20), (3, 0x24)])
    block += bytes.fromhex("01000104") + b"\x00" + bytes.fromhex("0200ba02") + b"\x00" + b"\x00"
    assert len(block) == 38
    parsed = ColumnarBlock.parse(block, 0, INDEX_SCHEMA)
    assert parsed.slices(0) == [b"\x04"] and list(parsed.uints(1)) == [0] and list(parsed.uints(2)) == [698]
    assert parsed.slices(3) == [b""]


def test_range_deletion_block_of_000019() -> None:
    # §5.7: one span [03 0a, 03 0b) at #194 RANGEDEL; 53 bytes.
    block = _columns(struct.pack("<I", 2), 1, [(3, 0x24), (2, 0x2C), (2, 0x2F), (3, 0x32), (3, 0x33)])
    block += bytes.fromhex("01000204030a030b") + bytes.fromhex("010001") + bytes.fromhex("020fc2")
    block += b"\x00\x00\x00"
    assert len(block) == 53
    parsed = ColumnarBlock.parse(block, KEYSPAN_HEADER, KEYSPAN_SCHEMA)
    assert parsed.slices(0, 2) == [b"\x03\x0a", b"\x03\x0b"]
    assert list(parsed.uints(1, 2)) == [0, 1]
    (trailer,) = parsed.uints(2)
    assert (trailer >> 8, trailer & 0xFF) == (194, KIND_RANGEDEL)


def test_a_column_that_does_not_end_at_the_next_offset_is_refused() -> None:
    # Column 0 holds 4 bytes of data and one stray byte before column 1 starts.
    block = _columns(b"", 1, [(3, 0x11), (3, 0x16)]) + bytes.fromhex("0100010400") + b"\x00" + b"\x00"
    parsed = ColumnarBlock.parse(block, 0, (BYTES, BYTES))
    with pytest.raises(ValueError, match="ends at"):
        parsed.slices(0)  # one byte of slack before column 1
    with pytest.raises(ValueError, match="do not match"):
        ColumnarBlock.parse(block, 0, (BYTES, UINT))


def test_prefix_bytes_with_bundles_and_repeated_keys() -> None:
    # 3 keys "user\0a", "user\0a" (an empty suffix repeats the row before), "user\0b"; one bundle.
    shared = b"us"
    data = shared + b"er\x00" + b"a" + b"" + b"b"
    offsets = [2, 5, 6, 6, 7]  # shared end, bundle prefix end, then one end per row
    column = bytes([4]) + bytes([1]) + bytes(offsets) + data
    keys, end = decode_prefix_bytes(column, 0, 3)
    assert keys == [b"user\x00a", b"user\x00a", b"user\x00b"] and end == len(column)


def test_tuple_escaping_round_trips() -> None:
    elements = [b"plain", b"nul\x00inside", b"one\x01two", b""]
    encoded = encode_tuple(elements)
    assert b"\x01\x01" in encoded and b"\x01\x02" in encoded
    assert decode_tuple(encoded) == elements


def test_any_damage_to_a_manifest_record_is_a_one_line_refusal(tmp_path: Path) -> None:
    """Every payload byte of the template's MANIFEST changed, its chunk re-signed: read or refused."""
    _, files = v3.unpack(fixture_path("file-template-sdk-v0.25.0-pebble.c1z"))
    log = files[v3.live_manifest_name(files)]
    chunks = []
    pos = 0
    while pos < len(log):
        (length,) = struct.unpack_from("<H", log, pos + 4)
        assert log[pos + 6] == 1  # the samples hold FULL chunks only
        chunks.append(log[pos + 7 : pos + 7 + length])
        pos += 7 + length
    outcomes = {"read": 0, "refused": 0}
    path = tmp_path / "MANIFEST-000001"
    for i, payload in enumerate(chunks):
        for at in range(len(payload)):
            changed = bytearray(payload)
            changed[at] ^= 0x41
            records = [*chunks[:i], bytes(changed), *chunks[i + 1 :]]
            path.write_bytes(b"".join(v3.manifest_chunk(r) for r in records))
            try:
                live_tables(LABEL, path)
                outcomes["read"] += 1
            except C1ZError as exc:
                assert "\n" not in str(exc)
                outcomes["refused"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0


# -- §7: the engine-meta keys -----------------------------------------------------------------


def _store(entries: list[tuple[bytes, int, int, bytes]]) -> None:
    from baton_cli.c1z.v3.file import V3File

    table = live(meta(1, b"\x03", b"\x03\xff\xff", (1, 99)), FakeTable(entries))
    V3File(LABEL, None, None, [table])  # type: ignore[arg-type]


RECORD = (b"\x03\x02\x00user\x00alice", 5, KIND_SET, b"")


@pytest.mark.parametrize(
    ("meta_entries", "found"),
    [
        ([(b"\x03\xffkeyspace_version", 9, KIND_SET, b"\x00\x00\x00\x03")], "keyspace version 00000003"),
        ([], "the old multi-sync key layout (no keyspace_version)"),
        (
            [
                (b"\x03\xffkeyspace_version", 9, KIND_SET, b"\x00\x00\x00\x02"),
                (b"\x03\xffgrant_entitlement_id_format", 9, KIND_SET, b"\x00\x00\x00\x07"),
            ],
            "grant entitlement id format 00000007",
        ),
    ],
)
def test_unknown_key_layouts_are_refused(
    meta_entries: list[tuple[bytes, int, int, bytes]], found: str
) -> None:
    with pytest.raises(C1ZUnsupportedFormat, match=re.escape(found)):
        _store([RECORD, *meta_entries])


def test_known_key_layouts_open() -> None:
    _store([RECORD, (b"\x03\xffkeyspace_version", 9, KIND_SET, b"\x00\x00\x00\x02")])
    _store([])  # an empty store needs no version


def test_one_table_reads_equal_the_heap_merge_on_the_larger_sample(tmp_path: Path) -> None:
    from baton_cli.c1z.v3 import V3File, keyspace

    with V3File.open(fixture_path("pebble-unexpanded-sdk-test.c1z"), tmp_path, None) as opened:
        tables, fragments = opened._tables, opened._fragments
        for family in (keyspace.RESOURCE, keyspace.ENTITLEMENT, keyspace.GRANT):
            span = keyspace.family_range(family)
            assert sum(t.bounds(*span) is not None for t in tables) == 1, "the fast path is the one taken"
            fast = list(latest(LABEL, tables, fragments, *span))
            assert fast and fast == list(merged(LABEL, tables, fragments, *span))

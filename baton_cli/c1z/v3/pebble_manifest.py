"""The Pebble MANIFEST: a record log of version edits whose replay gives the live tables (c1z-v3.md §3)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from baton_cli.c1z.v3.checksums import masked_crc32c
from baton_cli.c1z.v3.problems import corrupt, unsupported
from baton_cli.c1z.v3.varint import VarintError, read_bytes, read_uvarint

LOG_BLOCK = 32 * 1024
_CHUNK_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_WAL_CHUNK_TYPES = range(5, 13)
COMPARER = b"leveldb.BytewiseComparator"
NUM_LEVELS = 7

# Version edit tags (§3.2).
_COMPARER, _LOG_NUMBER, _NEXT_FILE, _LAST_SEQ = 1, 2, 3, 4
_COMPACT_POINTER, _DELETED_TABLE, _NEW_TABLE_OLD, _PREV_LOG = 5, 6, 7, 9
_NEW_TABLE2, _NEW_TABLE3, _NEW_TABLE4, _NEW_TABLE5 = 100, 102, 103, 104
_CREATED_BACKING, _REMOVED_BACKING, _NEW_BLOB, _DELETED_BLOB = 105, 106, 107, 108
# Custom fields of a new-table-4 edit.
_CUSTOM_END, _CUSTOM_NEEDS_COMPACTION, _CUSTOM_CREATION_TIME = 1, 2, 6
_CUSTOM_PATH_ID, _CUSTOM_VIRTUAL, _CUSTOM_PREFIX, _CUSTOM_SUFFIX, _CUSTOM_BLOB_REFS = 65, 66, 67, 68, 69
_CUSTOM_MUST_UNDERSTAND = 64

TRAILER = 8
MAX_SEQNUM = (1 << 56) - 1
_SENTINEL_KINDS = frozenset({15, 19, 20, 21})


@dataclass(frozen=True, slots=True)
class TableMeta:
    level: int
    number: int
    smallest: bytes  # internal keys: user key + 8-byte little-endian trailer
    largest: bytes
    smallest_seq: int
    largest_seq: int
    backing: int | None  # the physical file a virtual table reads

    @property
    def file_number(self) -> int:
        return self.number if self.backing is None else self.backing

    @property
    def virtual(self) -> bool:
        return self.backing is not None

    @property
    def lower(self) -> bytes:
        return self.smallest[:-TRAILER]

    @property
    def upper(self) -> bytes:
        return self.largest[:-TRAILER]

    @property
    def upper_exclusive(self) -> bool:
        """A range-deletion or range-key sentinel as the largest key bounds the table exclusively."""
        trailer = int.from_bytes(self.largest[-TRAILER:], "little")
        return trailer >> 8 == MAX_SEQNUM and trailer & 0xFF in _SENTINEL_KINDS

    @property
    def single_seqnum(self) -> int | None:
        """Ingested tables store seqnum 0; every entry then takes the table's one seqnum (§6)."""
        return self.smallest_seq if self.smallest_seq == self.largest_seq else None


def live_tables(path: Path, manifest: Path) -> list[TableMeta]:
    """Replay every version edit; the tables of levels 0-6 that remain, newest level first."""
    live: dict[tuple[int, int], TableMeta] = {}
    for record in read_records(path, manifest.read_bytes()):
        try:
            deleted, added = _decode_edit(path, record)
        except VarintError as exc:
            raise corrupt(path, f"MANIFEST version edit is malformed ({exc})") from None
        for key in deleted:
            live.pop(key, None)
        for table in added:
            live[(table.level, table.number)] = table
    return sorted(live.values(), key=lambda t: (t.level, -t.largest_seq, t.number))


def read_records(path: Path, data: bytes) -> Iterator[bytes]:
    """Records of a LevelDB-style log; strict: any damaged chunk refuses the file."""
    pos = 0
    end = len(data)
    pending: list[bytes] | None = None
    while pos < end:
        block_end = (pos // LOG_BLOCK + 1) * LOG_BLOCK
        room = min(block_end, end) - pos
        if room < _CHUNK_HEADER or data[pos : pos + _CHUNK_HEADER] == bytes(_CHUNK_HEADER):
            if any(data[pos : min(block_end, end)]):
                raise corrupt(path, f"MANIFEST has a damaged chunk at offset {pos}")
            pos = block_end
            continue
        checksum = int.from_bytes(data[pos : pos + 4], "little")
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        if kind in _WAL_CHUNK_TYPES:
            raise unsupported(path, f"a MANIFEST in write-ahead-log chunk format (chunk type {kind})")
        if kind not in (_FULL, _FIRST, _MIDDLE, _LAST):
            raise corrupt(path, f"MANIFEST chunk at offset {pos} has unknown type {kind}")
        stop = pos + _CHUNK_HEADER + length
        if stop > min(block_end, end):
            raise corrupt(path, f"MANIFEST chunk at offset {pos} runs past its block (truncated?)")
        if masked_crc32c(data[pos + 6 : stop]) != checksum:
            raise corrupt(path, f"MANIFEST chunk at offset {pos}: checksum (CRC-32C) mismatch")
        payload = data[pos + _CHUNK_HEADER : stop]
        pos = stop
        if kind == _FULL:
            if pending is not None:
                raise corrupt(path, "MANIFEST has an unfinished record")
            yield payload
        elif kind == _FIRST:
            if pending is not None:
                raise corrupt(path, "MANIFEST has an unfinished record")
            pending = [payload]
        else:
            if pending is None:
                raise corrupt(path, "MANIFEST has a record continuation without its start")
            pending.append(payload)
            if kind == _LAST:
                yield b"".join(pending)
                pending = None
    if pending is not None:
        raise corrupt(path, "MANIFEST ends inside a record (truncated?)")


def _decode_edit(path: Path, rec: bytes) -> tuple[list[tuple[int, int]], list[TableMeta]]:
    deleted: list[tuple[int, int]] = []
    added: list[TableMeta] = []
    pos = 0
    while pos < len(rec):
        tag, pos = read_uvarint(rec, pos)
        if tag == _COMPARER:
            name, pos = read_bytes(rec, pos)
            if name != COMPARER:
                raise unsupported(path, f"key comparer {name.decode(errors='replace')!r}")
        elif tag in (_LOG_NUMBER, _NEXT_FILE, _LAST_SEQ, _PREV_LOG, _REMOVED_BACKING):
            _, pos = read_uvarint(rec, pos)
        elif tag == _COMPACT_POINTER:
            _, pos = read_uvarint(rec, pos)
            _, pos = read_bytes(rec, pos)
        elif tag == _DELETED_TABLE:
            level, pos = read_uvarint(rec, pos)
            number, pos = read_uvarint(rec, pos)
            deleted.append((level, number))
        elif tag in (_NEW_TABLE2, _NEW_TABLE4):
            table, pos = _new_table(path, rec, pos, custom=tag == _NEW_TABLE4)
            added.append(table)
        elif tag == _CREATED_BACKING:
            _, pos = read_uvarint(rec, pos)
            _, pos = read_uvarint(rec, pos)
        elif tag == _NEW_TABLE5:
            raise unsupported(path, "range keys (MANIFEST tag 104)")
        elif tag in (_NEW_BLOB, _DELETED_BLOB):
            raise unsupported(path, f"blob files (MANIFEST tag {tag})")
        elif tag in (_NEW_TABLE_OLD, _NEW_TABLE3):
            raise unsupported(path, f"an old new-table record (MANIFEST tag {tag})")
        else:
            raise unsupported(path, f"unknown MANIFEST tag {tag}")
    return deleted, added


def _new_table(path: Path, rec: bytes, pos: int, *, custom: bool) -> tuple[TableMeta, int]:
    level, pos = read_uvarint(rec, pos)
    number, pos = read_uvarint(rec, pos)
    _, pos = read_uvarint(rec, pos)  # size: an estimate for virtual tables, not needed to read
    smallest, pos = read_bytes(rec, pos)
    largest, pos = read_bytes(rec, pos)
    smallest_seq, pos = read_uvarint(rec, pos)
    largest_seq, pos = read_uvarint(rec, pos)
    if level >= NUM_LEVELS:
        raise corrupt(path, f"MANIFEST names table {number} on level {level}")
    if len(smallest) < TRAILER or len(largest) < TRAILER:
        raise corrupt(path, f"MANIFEST bounds of table {number} are not internal keys")
    backing: int | None = None
    while custom:
        field, pos = read_uvarint(rec, pos)
        if field == _CUSTOM_END:
            break
        if field == _CUSTOM_VIRTUAL:
            backing, pos = read_uvarint(rec, pos)
        elif field == _CUSTOM_PATH_ID:
            raise unsupported(path, "table path ids (MANIFEST custom field 65)")
        elif field in (_CUSTOM_PREFIX, _CUSTOM_SUFFIX):
            raise unsupported(path, f"synthetic key prefixes/suffixes (MANIFEST custom field {field})")
        elif field == _CUSTOM_BLOB_REFS:
            raise unsupported(path, "blob references (MANIFEST custom field 69)")
        elif field & _CUSTOM_MUST_UNDERSTAND:
            raise unsupported(path, f"unknown MANIFEST custom field {field}")
        else:  # needs-compaction flag, creation time, and other skippable fields
            _, pos = read_bytes(rec, pos)
    return TableMeta(level, number, smallest, largest, smallest_seq, largest_seq, backing), pos

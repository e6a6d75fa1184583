"""One Pebble table file, format Pebblev7 with columnar blocks (c1z-v3.md §4-§5).

Blocks are read one at a time with ``pread`` and checked (CRC-32C or XXH64 per
the footer) before they are decompressed, so iterating a table holds one data
block in memory however large the file is.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cramjam
import xxhash
import zstandard

from baton_cli.c1z.v3.checksums import masked_crc32c
from baton_cli.c1z.v3.colblk import (
    BITMAP,
    BYTES,
    PREFIX_BYTES,
    UINT,
    ColumnarBlock,
    ColumnError,
    UnsupportedColumn,
)
from baton_cli.c1z.v3.problems import corrupt, unsupported
from baton_cli.c1z.v3.varint import VarintError, read_uvarint
from baton_cli.errors import C1ZError

FOOTER = 61
MAGIC = bytes.fromhex("f09faab3f09faab3")
_FOREIGN_MAGICS = {bytes.fromhex("57fb808b247547db"): "LevelDB", bytes.fromhex("f7cff485b741e288"): "RocksDB"}
TABLE_VERSION = 7
CHECKSUM_CRC32C, CHECKSUM_XXH64 = 1, 3
BLOCK_TRAILER = 5
# Blocks are written at about 32 KiB; a single huge value can make one larger, never this large.
MAX_BLOCK = 256 * 1024 * 1024

COMPRESSION_NONE, COMPRESSION_SNAPPY, COMPRESSION_ZSTD, COMPRESSION_MINLZ = 0, 1, 7, 8
_COMPRESSION_NAMES = {2: "zlib", 3: "bzip2", 4: "lz4", 5: "lz4hc", 6: "xpress", 8: "MinLZ"}

_ATTR_VALUE_BLOCKS = 1 << 0
_ATTR_RANGE_KEYS = (1 << 1) | (1 << 2) | (1 << 3)
_ATTR_TWO_LEVEL_INDEX = 1 << 5
_ATTR_BLOB_VALUES = 1 << 6

KIND_DEL, KIND_SET, KIND_MERGE, KIND_SINGLEDEL = 0, 1, 2, 7
KIND_RANGEDEL, KIND_SETWITHDEL, KIND_DELSIZED = 15, 18, 23
TOMBSTONES = frozenset({KIND_DEL, KIND_SINGLEDEL, KIND_DELSIZED})
POINT_KINDS = TOMBSTONES | {KIND_SET, KIND_SETWITHDEL}

DATA_SCHEMA = (PREFIX_BYTES, BYTES, UINT, BITMAP, BYTES, BITMAP, BITMAP)
INDEX_SCHEMA = (BYTES, UINT, UINT, BYTES)
KEY_VALUE_SCHEMA = (BYTES, BYTES)
KEYSPAN_SCHEMA = (BYTES, UINT, UINT, BYTES, BYTES)
DATA_HEADER = 4
KEYSPAN_HEADER = 4

META_PROPERTIES = b"rocksdb.properties"
META_RANGE_DEL = b"rocksdb.range_del2"
META_VALUE_INDEX = b"pebble.value_index"
_META_REFUSED = {
    b"pebble.blob_ref_index": "blob values",
    b"pebble.blob_ref_liveness": "blob values",
    b"pebble.range_key": "range keys",
    b"rocksdb.range_del": "the old range-deletion block format",
}


class Handle(NamedTuple):
    offset: int
    length: int


class Entry(NamedTuple):
    key: bytes  # user key
    trailer: int  # seqnum << 8 | kind
    value: bytes
    external: bool  # the value lives in a value block (an older version of the key, §6)


@dataclass(frozen=True, slots=True)
class RangeDeletion:
    start: bytes
    end: bytes  # exclusive
    seqnum: int


def read_handle(buf: bytes, pos: int = 0) -> tuple[Handle, int]:
    offset, pos = read_uvarint(buf, pos)
    length, pos = read_uvarint(buf, pos)
    return Handle(offset, length), pos


class Table:
    """An open table file; ``name`` labels errors (``000012.sst``)."""

    def __init__(self, label: Path, path: Path) -> None:
        self.label = label
        self.name = path.name
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self._size = os.fstat(self._fd).st_size
            self._read_footer()
            self._read_meta()
        except BaseException:
            os.close(self._fd)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- structure ---------------------------------------------------------------------------

    def _fail(self, what: str) -> C1ZError:
        return corrupt(self.label, f"table {self.name}: {what}")

    def _read_footer(self) -> None:
        if self._size < FOOTER:
            raise self._fail("shorter than a table footer (truncated?)")
        footer = os.pread(self._fd, FOOTER, self._size - FOOTER)
        magic = footer[-8:]
        if magic in _FOREIGN_MAGICS:
            raise unsupported(self.label, f"a {_FOREIGN_MAGICS[magic]} table ({self.name})")
        if magic != MAGIC:
            raise self._fail("no Pebble table magic (truncated?)")
        version = int.from_bytes(footer[49:53], "little")
        if version != TABLE_VERSION:
            raise unsupported(self.label, f"table format version {version} in {self.name} (readable: 7)")
        self._checksum_type = footer[0]
        if self._checksum_type not in (CHECKSUM_CRC32C, CHECKSUM_XXH64):
            raise unsupported(self.label, f"block checksum type {self._checksum_type} in {self.name}")
        stored = int.from_bytes(footer[45:49], "little")
        if self._checksum(footer[:45] + footer[49:]) != stored:
            raise self._fail("footer checksum mismatch")
        try:
            self._metaindex, pos = read_handle(footer, 1)
            self._index, _ = read_handle(footer, pos)
        except VarintError:
            raise self._fail("footer block handles are malformed") from None
        attributes = int.from_bytes(footer[41:45], "little")
        if attributes & _ATTR_RANGE_KEYS:
            raise unsupported(self.label, f"range keys ({self.name})")
        if attributes & _ATTR_BLOB_VALUES:
            raise unsupported(self.label, f"blob values ({self.name})")
        self._two_level = bool(attributes & _ATTR_TWO_LEVEL_INDEX)
        self.value_blocks = bool(attributes & _ATTR_VALUE_BLOCKS)

    def _read_meta(self) -> None:
        meta = self._columnar(self._metaindex, 0, KEY_VALUE_SCHEMA, "metaindex")
        self._range_del: Handle | None = None
        with self._guard("metaindex", self._metaindex.offset):
            names, values = meta.slices(0), meta.slices(1)
        for name, value in zip(names, values, strict=True):
            if name in _META_REFUSED:
                raise unsupported(self.label, f"{_META_REFUSED[name]} ({self.name})")
            if name == META_VALUE_INDEX:
                self.value_blocks = True
            elif name in (META_RANGE_DEL, META_PROPERTIES):
                try:
                    handle, _ = read_handle(value)
                except VarintError:
                    raise self._fail("metaindex handle is malformed") from None
                if name == META_RANGE_DEL:
                    self._range_del = handle
                else:
                    # Not needed to read keys; read anyway so its checksum is verified too.
                    properties = self._columnar(handle, 0, KEY_VALUE_SCHEMA, "properties")
                    with self._guard("properties", handle.offset):
                        properties.slices(0), properties.slices(1)

    def _checksum(self, data: bytes) -> int:
        if self._checksum_type == CHECKSUM_CRC32C:
            return masked_crc32c(data)
        return int(xxhash.xxh64_intdigest(data)) & 0xFFFFFFFF

    def read_block(self, handle: Handle, kind: str) -> bytes:
        if handle.offset + handle.length + BLOCK_TRAILER > self._size:
            raise self._fail(f"{kind} block at {handle.offset} runs past the end of the file (truncated?)")
        raw = os.pread(self._fd, handle.length + BLOCK_TRAILER, handle.offset)
        body = raw[: handle.length + 1]
        stored = int.from_bytes(raw[handle.length + 1 :], "little")
        if self._checksum(body) != stored:
            raise self._fail(f"{kind} block at {handle.offset}: checksum mismatch")
        return self._decompress(raw[: handle.length], raw[handle.length], kind, handle.offset)

    def _decompress(self, data: bytes, compression: int, kind: str, offset: int) -> bytes:
        if compression == COMPRESSION_NONE:
            return data
        if compression not in (COMPRESSION_SNAPPY, COMPRESSION_ZSTD):
            name = _COMPRESSION_NAMES.get(compression, f"unknown compression {compression}")
            raise unsupported(self.label, f"{name} block compression ({self.name})")
        try:
            size, start = read_uvarint(data, 0)
        except VarintError:
            raise self._fail(f"{kind} block at {offset}: bad length preamble") from None
        if size > MAX_BLOCK:
            raise self._fail(f"{kind} block at {offset} claims {size} decompressed bytes")
        try:
            if compression == COMPRESSION_SNAPPY:
                out = bytes(cramjam.snappy.decompress_raw(data))
            else:
                out = zstandard.ZstdDecompressor().decompress(data[start:], max_output_size=size)
        except (cramjam.DecompressionError, zstandard.ZstdError) as exc:
            raise self._fail(f"{kind} block at {offset}: cannot decompress ({exc})") from None
        if len(out) != size:
            raise self._fail(f"{kind} block at {offset}: decompressed to {len(out)} of {size} bytes")
        return out

    def _columnar(self, handle: Handle, header: int, schema: tuple[int, ...], kind: str) -> ColumnarBlock:
        buf = self.read_block(handle, kind)
        try:
            return ColumnarBlock.parse(buf, header, schema)
        except UnsupportedColumn as exc:
            raise unsupported(self.label, f"{exc} ({self.name}, {kind} block)") from None
        except (ColumnError, IndexError, struct.error) as exc:
            raise self._fail(f"{kind} block at {handle.offset}: {exc}") from None

    def _guard(self, kind: str, offset: int) -> _Guard:
        return _Guard(self, kind, offset)

    # -- reading -----------------------------------------------------------------------------

    def _index_rows(self) -> Iterator[tuple[bytes, Handle]]:
        tops = self._index_block(self._index)
        if not self._two_level:
            yield from tops
            return
        for _, handle in tops:
            yield from self._index_block(handle)

    def _index_block(self, handle: Handle) -> list[tuple[bytes, Handle]]:
        block = self._columnar(handle, 0, INDEX_SCHEMA, "index")
        with self._guard("index", handle.offset):
            separators = block.slices(0)
            offsets = block.uints(1)
            lengths = block.uints(2)
            block.slices(3)
        return [(s, Handle(o, n)) for s, o, n in zip(separators, offsets, lengths, strict=True)]

    def entries(self, lower: bytes, upper: bytes | None) -> Iterator[Entry]:
        """Point entries with ``lower <= key < upper`` in key order, newest version first."""
        for separator, handle in self._index_rows():
            if separator < lower:
                continue  # every key of this block is <= its separator
            for entry in self._data_block(handle):
                if upper is not None and entry.key >= upper:
                    return
                if entry.key >= lower:
                    yield entry

    def _data_block(self, handle: Handle) -> list[Entry]:
        block = self._columnar(handle, DATA_HEADER, DATA_SCHEMA, "data")
        with self._guard("data", handle.offset):
            prefixes = block.prefix_bytes(0)
            suffixes = block.slices(1)
            trailers = block.uints(2)
            block.bitmap(3)
            values = block.slices(4)
            external = block.bitmap(5)
            block.bitmap(6)
        # The bytewise comparer never splits keys, so suffixes are empty in practice.
        keys = [p + s for p, s in zip(prefixes, suffixes, strict=True)] if any(suffixes) else prefixes
        rows: list[Entry] = []
        for i, (key, trailer, value) in enumerate(zip(keys, trailers, values, strict=True)):
            kind = trailer & 0xFF
            if kind not in POINT_KINDS:
                what = "MERGE operands" if kind == KIND_MERGE else f"key kind {kind}"
                raise unsupported(self.label, f"{what} ({self.name})")
            rows.append(Entry(key, trailer, value, bool(external >> i & 1)))
        return rows

    def range_deletions(self) -> list[RangeDeletion]:
        if self._range_del is None:
            return []
        handle = self._range_del
        block = self._columnar(handle, KEYSPAN_HEADER, KEYSPAN_SCHEMA, "range-deletion")
        boundaries = int.from_bytes(block.header, "little")
        with self._guard("range-deletion", handle.offset):
            keys = block.slices(0, boundaries)
            first_rows = block.uints(1, boundaries)
            trailers = block.uints(2)
            block.slices(3)
            block.slices(4)
        spans: list[RangeDeletion] = []
        for j in range(boundaries - 1):
            for row in range(first_rows[j], first_rows[j + 1]):
                if row >= len(trailers):
                    raise self._fail("range-deletion block has a span past its rows")
                kind = trailers[row] & 0xFF
                if kind != KIND_RANGEDEL:
                    raise unsupported(self.label, f"range key kind {kind} ({self.name})")
                spans.append(RangeDeletion(keys[j], keys[j + 1], trailers[row] >> 8))
        return spans


class _Guard:
    """Turns a column decoding error into the one-line refusal naming table and block."""

    def __init__(self, table: Table, kind: str, offset: int) -> None:
        self._table = table
        self._kind = kind
        self._offset = offset

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, UnsupportedColumn):
            raise unsupported(self._table.label, f"{exc} ({self._table.name})") from None
        decoding = (ColumnError, IndexError, ValueError, struct.error)
        if isinstance(exc, decoding) and not isinstance(exc, C1ZError):
            raise self._table._fail(f"{self._kind} block at {self._offset}: {exc}") from None

"""Pebble's columnar blocks (c1z-v3.md §5): a header, then typed columns laid end to end.

Each decoder returns the column's values and the offset where it ended; the
block checks that every column ends exactly where the next one starts, so a
misread column is caught instead of shifting everything after it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

BITMAP, UINT, BYTES, PREFIX_BYTES = 1, 2, 3, 4
COLUMN_TYPES = {BITMAP: "bitmap", UINT: "uint", BYTES: "bytes", PREFIX_BYTES: "prefix bytes"}
VERSION = 1
_HEADER = struct.Struct("<BHI")
_COLUMN = struct.Struct("<BI")
_WIDTH_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_DELTA_FLAG = 0x80
_BITMAP_ALL_FALSE = 1
_WORD = 8
_WORD_BITS = 64


class ColumnError(ValueError):
    """The block's bytes do not decode as the columnar format says."""


class UnsupportedColumn(ColumnError):
    """A well-formed block using something this reader does not know (version, column type)."""


def _align(pos: int, width: int) -> int:
    return (pos + width - 1) // width * width


def decode_uints(buf: bytes, pos: int, n: int) -> tuple[Sequence[int], int]:
    if n == 0:
        return (), pos
    if pos >= len(buf):
        raise ColumnError("uint column runs past the block")
    encoding = buf[pos]
    pos += 1
    width = encoding & 0x7F
    base = 0
    if encoding & _DELTA_FLAG:
        if width == _WORD:
            raise ColumnError("uint column with a base and 8-byte deltas")
        (base,) = struct.unpack_from("<Q", buf, pos)
        pos += _WORD
    if width == 0:
        return [base] * n, pos
    code = _WIDTH_CODES.get(width)
    if code is None:
        raise ColumnError(f"uint column width {width}")
    pos = _align(pos, width)
    end = pos + n * width
    if end > len(buf):
        raise ColumnError("uint column runs past the block")
    values: Sequence[int] = struct.unpack_from(f"<{n}{code}", buf, pos)
    if base:
        values = [v + base for v in values]
    return values, end


def decode_bytes(buf: bytes, pos: int, n: int) -> tuple[list[bytes], int]:
    if n == 0:
        return [], pos
    offsets, data = decode_uints(buf, pos, n + 1)
    end = data + offsets[n]
    if end > len(buf):
        raise ColumnError("bytes column runs past the block")
    return [buf[data + offsets[i] : data + offsets[i + 1]] for i in range(n)], end


def decode_prefix_bytes(buf: bytes, pos: int, n: int) -> tuple[list[bytes], int]:
    """Sorted keys stored as a shared prefix, per-bundle prefixes and per-row suffixes (§5.4)."""
    if n == 0:
        return [], pos
    shift = buf[pos]
    bundle = 1 << shift
    bundles = 1 + ((n - 1) >> shift)
    off, data = decode_uints(buf, pos + 1, n + bundles + 1)
    end = data + off[n + bundles]
    if end > len(buf) or any(off[i] > off[i + 1] for i in range(n + bundles)):
        raise ColumnError("prefix bytes column has bad offsets")
    shared = buf[data : data + off[0]]
    keys: list[bytes] = []
    previous = b""
    prefix = b""
    for row in range(n):
        b = row >> shift
        j = row + b + 1
        if row & (bundle - 1) == 0:
            p = b * (bundle + 1)
            prefix = shared + buf[data + off[p] : data + off[p + 1]]
            previous = prefix + buf[data + off[j] : data + off[j + 1]]
        elif off[j] != off[j + 1]:
            previous = prefix + buf[data + off[j] : data + off[j + 1]]
        # An empty suffix later in a bundle repeats the row before (same key).
        keys.append(previous)
    return keys, end


def decode_bitmap(buf: bytes, pos: int, n: int) -> tuple[int, int]:
    """The bits as one integer (bit i = row i) and the end of the column."""
    if n == 0:
        return 0, pos
    encoding = buf[pos]
    if encoding == _BITMAP_ALL_FALSE:
        return 0, pos + 1
    if encoding != 0:
        raise ColumnError(f"bitmap encoding {encoding}")
    pos = _align(pos + 1, _WORD)
    words = (n + _WORD_BITS - 1) // _WORD_BITS
    summary = (words + _WORD_BITS - 1) // _WORD_BITS
    end = pos + _WORD * (words + summary)
    if end > len(buf):
        raise ColumnError("bitmap column runs past the block")
    return int.from_bytes(buf[pos : pos + _WORD * words], "little"), end


@dataclass(frozen=True, slots=True)
class ColumnarBlock:
    buf: bytes
    header: bytes  # the block kind's custom header
    rows: int
    types: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def parse(cls, buf: bytes, header_size: int, schema: Sequence[int]) -> ColumnarBlock:
        fixed = header_size + _HEADER.size
        if len(buf) < fixed + 1:
            raise ColumnError("block too short for its header")
        version, columns, rows = _HEADER.unpack_from(buf, header_size)
        if version != VERSION:
            raise UnsupportedColumn(f"columnar block version {version}")
        table_end = fixed + columns * _COLUMN.size
        if table_end > len(buf) - 1:
            raise ColumnError("block too short for its column table")
        types = []
        starts = []
        for i in range(columns):
            kind, start = _COLUMN.unpack_from(buf, fixed + i * _COLUMN.size)
            if kind not in COLUMN_TYPES:
                raise UnsupportedColumn(f"column type {kind}")
            types.append(kind)
            starts.append(start)
        if tuple(types) != tuple(schema):
            found = ", ".join(COLUMN_TYPES[t] for t in types)
            raise ColumnError(f"columns ({found}) do not match the block kind")
        ends = [*starts[1:], len(buf) - 1]
        for start, stop in zip(starts, ends, strict=True):
            if not table_end <= start <= stop <= len(buf) - 1:
                raise ColumnError("column offsets out of order")
        return cls(buf, buf[:header_size], rows, tuple(types), tuple(starts), tuple(ends))

    def _checked(self, column: int, end: int) -> None:
        if end != self.ends[column]:
            raise ColumnError(f"column {column} ends at {end}, not at {self.ends[column]}")

    def uints(self, column: int, n: int | None = None) -> Sequence[int]:
        values, end = decode_uints(self.buf, self.starts[column], self.rows if n is None else n)
        self._checked(column, end)
        return values

    def slices(self, column: int, n: int | None = None) -> list[bytes]:
        values, end = decode_bytes(self.buf, self.starts[column], self.rows if n is None else n)
        self._checked(column, end)
        return values

    def prefix_bytes(self, column: int) -> list[bytes]:
        values, end = decode_prefix_bytes(self.buf, self.starts[column], self.rows)
        self._checked(column, end)
        return values

    def bitmap(self, column: int) -> int:
        value, end = decode_bitmap(self.buf, self.starts[column], self.rows)
        self._checked(column, end)
        return value

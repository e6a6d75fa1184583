"""Table features the samples lack but Pebble may write: zstd blocks, two-level indexes, XXH64 checksums.

Each is built by re-laying one table of the template sample (tests/c1z/v3_support.py), and the
file must read exactly as the original.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cramjam
import pytest
import xxhash
import zstandard

from baton_cli.c1z import C1ZReader
from baton_cli.c1z.v3.sstable import Table
from baton_cli.errors import C1ZError
from tests.c1z import v3_support as v3
from tests.external import fixture_path

TEMPLATE = "file-template-sdk-v0.25.0-pebble.c1z"
TABLE = "000021.sst"
TWO_LEVEL = 1 << 5
# c1z-v3.md §5.7: the 53-byte range-deletion block of 000019.sst (at 1566, checked below).
RANGE_DEL_000019 = (1566, 53)


def _sign(block: bytes, compression: int, checksum: str) -> bytes:
    body = block + bytes([compression])
    digest = v3.masked_crc(body) if checksum == "crc" else xxhash.xxh64_intdigest(body) & 0xFFFFFFFF
    return body + struct.pack("<I", digest)


def _footer(table: bytes, meta: tuple[int, int], index: tuple[int, int], attributes: int, kind: int) -> bytes:
    handles = b"".join(v3.encode_uvarint(n) for n in (*meta, *index))
    footer = bytearray(61)
    footer[0] = kind
    footer[1 : 1 + len(handles)] = handles
    footer[41:45] = struct.pack("<I", attributes)
    footer[49:53] = struct.pack("<I", 7)
    footer[53:61] = table[-8:]
    signed = bytes(footer[:45] + footer[49:])
    footer[45:49] = struct.pack(
        "<I", v3.masked_crc(signed) if kind == 1 else xxhash.xxh64_intdigest(signed) & 0xFFFFFFFF
    )
    return bytes(footer)


def _index_block(separator: bytes, offset: int, length: int) -> bytes:
    """A one-row index block (§5.6): separator, offset and length as 4-byte uints, no properties."""
    head = struct.pack("<BHI", 1, 4, 1) + b"".join(
        struct.pack("<BI", t, o) for t, o in ((3, 0x1B), (2, 0x1F), (2, 0x24), (3, 0x2C))
    )
    sep = b"\x01\x00" + bytes([len(separator)]) + separator
    assert len(separator) == 1
    return (
        head
        + sep
        + b"\x04"
        + struct.pack("<I", offset)
        + b"\x04\x00\x00\x00"
        + struct.pack("<I", length)
        + b"\x00"
        + b"\x00"
    )


def _attributes(table: bytes) -> int:
    return int.from_bytes(table[-61 + 41 : -61 + 45], "little")


# c1z-v3.md §5.7: 000021.sst's metaindex points at its properties block (746, 552).
PROPERTIES = (746, 552)


def _relaid(table: bytes, *, index_compression: int, two_level: bool, checksum: str) -> bytes:
    """The table with its blocks re-signed with ``checksum`` and a re-encoded index appended."""
    meta, index = v3.table_handles(table)
    assert bytes.fromhex("ea05a804") in table[meta[0] : meta[0] + meta[1]]
    body = bytearray(table[:-61])
    # Every block keeps its place (so the metaindex's handles stay right), re-signed.
    for offset, length in ((0, index[0] - 5), index, PROPERTIES, meta):
        raw = table[offset : offset + length]
        body[offset : offset + length + 5] = _sign(raw, table[offset + length], checksum)
    raw_index = table[index[0] : index[0] + index[1]]
    assert table[index[0] + index[1]] == 0
    if index_compression == 7:
        encoded = v3.encode_uvarint(len(raw_index)) + zstandard.ZstdCompressor().compress(raw_index)
    else:
        encoded = raw_index
    new_index = (len(body), len(encoded))
    body += _sign(encoded, index_compression, checksum)
    attributes = _attributes(table)
    if two_level:
        top = _index_block(b"\x04", *new_index)
        new_index = (len(body), len(top))
        body += _sign(top, 0, checksum)
        attributes |= TWO_LEVEL
    kind = 1 if checksum == "crc" else 3
    return bytes(body) + _footer(table, meta, new_index, attributes, kind)


@pytest.mark.parametrize(
    ("compression", "two_level", "checksum"),
    [(7, False, "crc"), (0, True, "crc"), (0, False, "xxh64"), (7, True, "xxh64")],
    ids=["zstd-index", "two-level-index", "xxh64-checksums", "all-three"],
)
def test_table_variants_read_like_the_original(
    tmp_path: Path, compression: int, two_level: bool, checksum: str
) -> None:
    manifest, files = v3.unpack(fixture_path(TEMPLATE))
    table = files[TABLE]
    meta, index = v3.table_handles(table)
    assert 0 < index[0] < PROPERTIES[0] < meta[0]  # the layout §4.2 describes, which the builder keeps
    files = {
        **files,
        TABLE: _relaid(table, index_compression=compression, two_level=two_level, checksum=checksum),
    }
    path = v3.write(tmp_path / "variant.c1z", manifest, files)
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        run = reader.pick_sync()
        counts = reader.counts(run.sync_id)
    assert run.sync_id == "3MieZwfT42aynlAKC3KNybC749V" and run.finished
    assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == (4, 15, 11, 40)


def _read_all(path: Path) -> None:
    table = Table(Path("robust.c1z"), path)
    try:
        for _ in table.entries(b"", None):
            pass
        table.range_deletions()
    finally:
        table.close()


@pytest.mark.parametrize("name", ["000021.sst", "000019.sst"])
def test_any_damage_to_uncompressed_blocks_is_a_one_line_refusal(tmp_path: Path, name: str) -> None:
    """Every byte of the index, metaindex and range-deletion blocks, changed and re-signed.

    The checksum no longer catches these, so the block decoders must: each variant either reads
    or is refused as a C1ZError; nothing else (no IndexError, struct.error...) may escape.
    """
    _, files = v3.unpack(fixture_path(TEMPLATE))
    table = files[name]
    meta, index = v3.table_handles(table)
    handles = [index, meta]
    if name == "000019.sst":
        start = RANGE_DEL_000019[0]
        assert table[start : start + 4] == b"\x02\x00\x00\x00"  # its custom header: 2 boundary keys
        handles.append(RANGE_DEL_000019)
    refused = 0
    for handle in handles:
        assert table[handle[0] + handle[1]] == 0, "uncompressed blocks only"
        for at in range(handle[1]):
            for value in {table[handle[0] + at] ^ 0x01, table[handle[0] + at] ^ 0x80, 0xFF}:
                path = tmp_path / name
                path.write_bytes(v3.with_block_byte(table, handle, at, value, resign=True))
                try:
                    _read_all(path)
                except C1ZError as exc:
                    assert "\n" not in str(exc)
                    refused += 1
    assert refused > 0


def test_any_damage_to_a_data_block_is_a_one_line_refusal(tmp_path: Path) -> None:
    """The sync run's data block of 000021.sst, decompressed, changed byte by byte, stored raw.

    The changed block is appended with a new index pointing at it, both signed, so only the
    columnar decoders stand between a bad byte and a wrong answer.
    """
    _, files = v3.unpack(fixture_path(TEMPLATE))
    table = files[TABLE]
    meta, index = v3.table_handles(table)
    data_length = index[0] - 5
    assert table[data_length] == 1  # Snappy
    block = bytes(cramjam.snappy.decompress_raw(table[:data_length]))
    assert len(block) == 1747  # c1z-v3.md §5.7
    refused = read = 0
    for at in range(0, len(block), 3):
        changed = bytearray(block)
        changed[at] ^= 0x5A
        body = table[:-61]
        data_handle = (len(body), len(changed))
        body += _sign(bytes(changed), 0, "crc")
        top = _index_block(b"\x04", *data_handle)
        index_handle = (len(body), len(top))
        body += _sign(top, 0, "crc")
        path = tmp_path / TABLE
        path.write_bytes(body + _footer(table, meta, index_handle, _attributes(table), 1))
        try:
            _read_all(path)
            read += 1
        except C1ZError as exc:
            assert "\n" not in str(exc)
            refused += 1
    assert refused > 0 and read > 0  # value bytes may change freely; structure bytes may not

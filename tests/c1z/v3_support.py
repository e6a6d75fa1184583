"""Take a v3 c1z apart and put it back together, independently of baton_cli's v3 reader.

Used to build the edge cases the upstream samples lack (damaged checksums, unknown versions,
non-empty WALs): every byte layout here follows c1z-v3.md directly.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import google_crc32c
import xxhash
import zstandard

from baton_cli.pb.c1.c1z.v3 import manifest_pb2

MAGIC = b"C1Z3\x00"
FOOTER_MAGIC = b"C1ZIDX1\x00"
TABLE_FOOTER = 61


def masked_crc(data: bytes) -> int:
    c = google_crc32c.value(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def unpack(path: Path) -> tuple[manifest_pb2.C1ZManifestV3, dict[str, bytes]]:
    data = path.read_bytes()
    assert data[:5] == MAGIC
    (length,) = struct.unpack(">I", data[5:9])
    manifest = manifest_pb2.C1ZManifestV3.FromString(data[9 : 9 + length])
    offset, index_len = struct.unpack(">QI", data[-28:-16])
    index = manifest_pb2.IndexedFrameIndex.FromString(data[offset : offset + index_len])
    files = {}
    for entry in index.entries:
        frame = data[entry.frame_offset : entry.frame_offset + entry.compressed_size]
        files[entry.name] = zstandard.ZstdDecompressor().decompress(
            frame, max_output_size=max(entry.raw_size, 1)
        )
    return manifest, files


def pack(manifest: manifest_pb2.C1ZManifestV3, files: dict[str, bytes]) -> bytes:
    manifest_bytes = manifest.SerializeToString()
    out = bytearray(MAGIC + struct.pack(">I", len(manifest_bytes)) + manifest_bytes)
    index = manifest_pb2.IndexedFrameIndex(manifest_xxh64=xxhash.xxh64_intdigest(manifest_bytes))
    cctx = zstandard.ZstdCompressor(write_checksum=True)
    for name in sorted(files):
        raw = files[name]
        frame = cctx.compress(raw)
        index.entries.add(
            name=name,
            frame_offset=len(out),
            compressed_size=len(frame),
            raw_size=len(raw),
            raw_xxh64=xxhash.xxh64_intdigest(raw),
            raw_sha256=hashlib.sha256(raw).digest(),
        )
        out += frame
        index.total_raw_size += len(raw)
        index.total_compressed_size += len(frame)
    index_bytes = index.SerializeToString()
    offset = len(out)
    out += index_bytes
    out += struct.pack(">QIQ", offset, len(index_bytes), xxhash.xxh64_intdigest(index_bytes)) + FOOTER_MAGIC
    return bytes(out)


def write(path: Path, manifest: manifest_pb2.C1ZManifestV3, files: dict[str, bytes]) -> Path:
    path.write_bytes(pack(manifest, files))
    return path


def uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def encode_uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def table_handles(table: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    """(metaindex, index) block handles from a Pebblev7 footer."""
    footer = table[-TABLE_FOOTER:]
    meta_off, pos = uvarint(footer, 1)
    meta_len, pos = uvarint(footer, pos)
    index_off, pos = uvarint(footer, pos)
    index_len, _ = uvarint(footer, pos)
    return (meta_off, meta_len), (index_off, index_len)


def with_footer_field(table: bytes, offset: int, value: bytes) -> bytes:
    """Change bytes of the footer and re-sign it (masked CRC-32C of bytes 0-44 and 49-60)."""
    footer = bytearray(table[-TABLE_FOOTER:])
    footer[offset : offset + len(value)] = value
    footer[45:49] = struct.pack("<I", masked_crc(bytes(footer[:45] + footer[49:])))
    return table[:-TABLE_FOOTER] + bytes(footer)


def with_block_byte(table: bytes, handle: tuple[int, int], at: int, value: int, *, resign: bool) -> bytes:
    """Change one byte of a block (``at`` = length means the compression byte); maybe fix its CRC."""
    offset, length = handle
    data = bytearray(table)
    data[offset + at] = value
    if resign:
        body = bytes(data[offset : offset + length + 1])
        data[offset + length + 1 : offset + length + 5] = struct.pack("<I", masked_crc(body))
    return bytes(data)


def manifest_chunk(payload: bytes) -> bytes:
    """One FULL chunk of the MANIFEST record log."""
    return struct.pack("<IHB", masked_crc(b"\x01" + payload), len(payload), 1) + payload


def live_manifest_name(files: dict[str, bytes]) -> str:
    marker = next(n for n in files if n.startswith("marker.manifest."))
    return marker.split(".", 3)[3]

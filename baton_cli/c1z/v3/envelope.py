"""The C1Z3 container: magic, manifest, and a payload that unpacks to a Pebble checkpoint directory.

c1z.md §11 and c1z-v3.md §1. Every file of the payload is decoded to disk under
the same caps as v1 (zstd window, total decoded size), and checked against the
sizes and hashes the frame index records before anything reads it.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, cast

import xxhash
import zstandard
from google.protobuf.message import DecodeError

from baton_cli.c1z.container import MAGIC_V3, DecodeLimits
from baton_cli.c1z.v3.checksums import xxh64
from baton_cli.c1z.v3.problems import corrupt, unsupported
from baton_cli.pb.c1.c1z.v3 import manifest_pb2

ENGINES = frozenset({"pebble3", "pebble2", "pebble"})
FOOTER_MAGIC = b"C1ZIDX1\x00"
FOOTER_SIZE = 28
MAX_MANIFEST = 16 * 1024 * 1024
MAX_INDEX = 64 * 1024 * 1024
MAX_NAME = 4096
_HEADER = len(MAGIC_V3) + 4
_CHUNK = 1024 * 1024
_GIB = 1024 * 1024 * 1024
_DEFAULT_BUDGET = 10 * _GIB
_SIZE_FACTOR = 100
_MAX_MODE = 0o777

Encoding = manifest_pb2.PayloadEncoding


@dataclass(frozen=True, slots=True)
class Envelope:
    manifest: manifest_pb2.C1ZManifestV3
    manifest_bytes: bytes
    payload_start: int
    file_size: int


def read_envelope(path: Path, fh: BinaryIO) -> Envelope:
    size = os.fstat(fh.fileno()).st_size
    head = fh.read(_HEADER)
    if len(head) < _HEADER or head[: len(MAGIC_V3)] != MAGIC_V3:
        raise corrupt(path, "truncated header")
    (length,) = struct.unpack(">I", head[len(MAGIC_V3) :])
    if length > MAX_MANIFEST:
        raise corrupt(path, f"manifest length {length} exceeds {MAX_MANIFEST} bytes")
    raw = fh.read(length)
    if len(raw) != length:
        raise corrupt(path, f"file ends inside the manifest ({len(raw)} of {length} bytes)")
    try:
        manifest = manifest_pb2.C1ZManifestV3.FromString(raw)
    except DecodeError:
        raise corrupt(path, "manifest is not a valid C1ZManifestV3 message") from None
    if manifest.engine not in ENGINES:
        raise unsupported(path, f"storage engine {manifest.engine!r}")
    return Envelope(manifest, raw, _HEADER + length, size)


def decode_budget(limits: DecodeLimits, file_size: int) -> int:
    """Upstream's cap on the decoded payload: max(10 GiB, 100 x file size) unless set explicitly."""
    if limits.max_decoded_bytes != _DEFAULT_BUDGET:
        return limits.max_decoded_bytes
    return max(_DEFAULT_BUDGET, _SIZE_FACTOR * file_size)


def unpack_payload(path: Path, fh: BinaryIO, env: Envelope, dest: Path, limits: DecodeLimits) -> None:
    """Decode the checkpoint directory into ``dest`` (an empty directory)."""
    encoding = env.manifest.payload_encoding
    if encoding == Encoding.PAYLOAD_ENCODING_INDEXED_ZSTD:
        _unpack_indexed(path, fh, env, dest, limits)
    elif encoding in (Encoding.PAYLOAD_ENCODING_TAR, Encoding.PAYLOAD_ENCODING_TAR_ZSTD):
        _unpack_tar(path, fh, env, dest, limits, compressed=encoding == Encoding.PAYLOAD_ENCODING_TAR_ZSTD)
    else:
        raise unsupported(path, f"payload encoding {encoding}")


# -- INDEXED_ZSTD (§1.1) ----------------------------------------------------------------------


def read_index(path: Path, fh: BinaryIO, env: Envelope) -> manifest_pb2.IndexedFrameIndex:
    size = env.file_size
    if size < env.payload_start + FOOTER_SIZE:
        raise corrupt(path, "file too short for the frame index footer (truncated?)")
    fh.seek(size - FOOTER_SIZE)
    footer = fh.read(FOOTER_SIZE)
    offset, length, digest = struct.unpack(">QIQ", footer[:20])
    if footer[20:] != FOOTER_MAGIC:
        raise corrupt(path, "frame index footer magic missing (truncated?)")
    if length > MAX_INDEX:
        raise corrupt(path, f"frame index length {length} exceeds {MAX_INDEX} bytes")
    if offset < env.payload_start or offset + length + FOOTER_SIZE != size:
        raise corrupt(path, f"frame index at {offset} (+{length}) does not end at the footer")
    fh.seek(offset)
    raw = fh.read(length)
    if xxh64(raw) != digest:
        raise corrupt(path, "frame index checksum (XXH64) mismatch")
    try:
        index = manifest_pb2.IndexedFrameIndex.FromString(raw)
    except DecodeError:
        raise corrupt(path, "frame index is not a valid IndexedFrameIndex message") from None
    if index.manifest_xxh64 and index.manifest_xxh64 != xxh64(env.manifest_bytes):
        raise corrupt(path, "manifest checksum (XXH64) mismatch")
    _check_entries(path, index, env.payload_start, offset)
    return index


def _check_entries(path: Path, index: manifest_pb2.IndexedFrameIndex, start: int, index_offset: int) -> None:
    seen: set[str] = set()
    for entry in index.entries:
        name = entry.name
        _check_name(path, name)
        if name in seen:
            raise corrupt(path, f"payload file {name!r} listed twice")
        seen.add(name)
        if entry.raw_size < 0 or entry.compressed_size <= 0:
            raise corrupt(path, f"payload file {name!r} has impossible sizes")
        if entry.frame_offset < start or entry.frame_offset + entry.compressed_size > index_offset:
            raise corrupt(path, f"payload file {name!r} lies outside the payload")
        if len(entry.raw_sha256) != hashlib.sha256().digest_size:
            raise corrupt(path, f"payload file {name!r} has no SHA-256")


def _check_name(path: Path, name: str) -> None:
    parts = PurePosixPath(name).parts
    if (
        not name
        or len(name.encode()) > MAX_NAME
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or name != "/".join(parts)
    ):
        raise corrupt(path, f"payload file name {name[:100]!r} is not a plain relative path")


def _unpack_indexed(path: Path, fh: BinaryIO, env: Envelope, dest: Path, limits: DecodeLimits) -> None:
    index = read_index(path, fh, env)
    budget = decode_budget(limits, env.file_size)
    total = sum(e.raw_size for e in index.entries)
    if total > budget:
        raise corrupt(
            path,
            f"decoded payload of {total} bytes exceeds the limit of {budget} bytes "
            "(BATON_DECODER_MAX_DECODED_SIZE_MB)",
        )
    dctx = zstandard.ZstdDecompressor(max_window_size=limits.max_window_bytes)
    for entry in index.entries:
        target = _target(dest, entry.name)
        fh.seek(entry.frame_offset)
        _decode_frame(path, dctx, _Region(fh, entry.compressed_size), target, entry)


def _decode_frame(
    path: Path,
    dctx: zstandard.ZstdDecompressor,
    region: _Region,
    target: Path,
    entry: manifest_pb2.IndexedFrameEntry,
) -> None:
    fast = xxhash.xxh64()
    strong = hashlib.sha256()
    written = 0
    source = cast(BinaryIO, region)
    try:
        with target.open("wb") as out, dctx.stream_reader(source, read_size=_CHUNK, closefd=False) as reader:
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > entry.raw_size:
                    raise corrupt(path, f"payload file {entry.name!r} decodes past its size {entry.raw_size}")
                fast.update(chunk)
                strong.update(chunk)
                out.write(chunk)
    except zstandard.ZstdError as exc:
        raise corrupt(path, f"payload file {entry.name!r}: corrupt zstd frame ({exc})") from None
    if written != entry.raw_size:
        raise corrupt(path, f"payload file {entry.name!r} decodes to {written} of {entry.raw_size} bytes")
    if fast.intdigest() != entry.raw_xxh64:
        raise corrupt(path, f"payload file {entry.name!r}: checksum (XXH64) mismatch")
    if strong.digest() != entry.raw_sha256:
        raise corrupt(path, f"payload file {entry.name!r}: checksum (SHA-256) mismatch")


class _Region:
    """A read-only window of ``size`` bytes at the current position of ``fh``.

    zstandard only calls ``read``; the cast at the call site says so to the type checker.
    """

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh = fh
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        data = self._fh.read(n)
        self._left -= len(data)
        return data


def _target(dest: Path, name: str) -> Path:
    target = dest.joinpath(*PurePosixPath(name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


# -- TAR and TAR_ZSTD (§1.2) -------------------------------------------------------------------


def _unpack_tar(
    path: Path, fh: BinaryIO, env: Envelope, dest: Path, limits: DecodeLimits, *, compressed: bool
) -> None:
    budget = decode_budget(limits, env.file_size)
    fh.seek(env.payload_start)
    source: BinaryIO = fh
    if compressed:
        dctx = zstandard.ZstdDecompressor(max_window_size=limits.max_window_bytes)
        source = dctx.stream_reader(fh, read_size=_CHUNK, read_across_frames=True, closefd=False)
    total = 0
    try:
        with tarfile.open(fileobj=source, mode="r|") as archive:
            for member, stream in _members(path, archive):
                total += member.size
                if total > budget:
                    raise corrupt(path, f"decoded payload exceeds the limit of {budget} bytes")
                with _target(dest, member.name).open("wb") as out:
                    while chunk := stream.read(_CHUNK):
                        out.write(chunk)
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
        raise corrupt(path, f"payload is not a valid tar stream ({exc})") from None


def _members(path: Path, archive: tarfile.TarFile) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    for member in archive:
        name = member.name.removeprefix("./").rstrip("/")
        if member.isdir() and name in ("", "."):
            continue
        _check_name(path, name)
        if not 0 <= member.mode <= _MAX_MODE:
            raise corrupt(path, f"payload file {name!r} has mode {member.mode:o}")
        if member.isdir() or not member.isreg():
            continue  # directories are made as files need them; upstream skips other types
        member.name = name
        stream = archive.extractfile(member)
        if stream is None:
            continue
        yield member, stream

"""The v1 c1z container: ``C1ZF\\0`` + one zstd stream of a SQLite file (c1z.md §2).

Reading streams the zstd body into a file (never into memory) under the same
caps as upstream readers; writing compresses into a temp file next to the
target and renames it into place, so the target name only ever holds a
complete file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from baton_cli.c1z.zstdframes import FrameError, scan_frames
from baton_cli.errors import C1ZError, C1ZUnsupportedFormat, NotFoundError

MAGIC_V1 = b"C1ZF\x00"
MAGIC_V3 = b"C1Z3\x00"
SQLITE_HEADER = b"SQLite format 3\x00"
COMPRESSION_LEVEL = 3

_MIB = 1024 * 1024
_CHUNK = _MIB
_DEFAULT_MAX_DECODED_MB = 10 * 1024
_DEFAULT_MAX_WINDOW_MB = 128
_TRUE_WORDS = frozenset({"1", "t", "true", "y", "yes", "on"})


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_decoded_bytes: int
    max_window_bytes: int
    fcs_fail_fast: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DecodeLimits:
        env = os.environ if environ is None else environ
        return cls(
            max_decoded_bytes=_mib_setting(env, "BATON_DECODER_MAX_DECODED_SIZE_MB", _DEFAULT_MAX_DECODED_MB),
            max_window_bytes=_mib_setting(env, "BATON_DECODER_MAX_MEMORY_MB", _DEFAULT_MAX_WINDOW_MB),
            fcs_fail_fast=env.get("BATON_DISABLE_FCS_FAIL_FAST", "").strip().lower() not in _TRUE_WORDS,
        )


def _mib_setting(env: Mapping[str, str], name: str, default_mib: int) -> int:
    # Like upstream, an unusable value falls back to the default rather than failing the run.
    try:
        value = int(env.get(name, "").strip())
    except ValueError:
        value = 0
    return (value if value > 0 else default_mib) * _MIB


def read_magic(path: Path) -> bytes:
    """The first five bytes; b"" for an empty file. NotFoundError if missing."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(MAGIC_V1))
    except FileNotFoundError:
        raise NotFoundError(f"c1z file not found: {path}") from None
    except IsADirectoryError:
        raise C1ZError(f"{path} is a directory, not a c1z file") from None
    except OSError as exc:
        raise C1ZError(f"cannot read c1z file {path}: {exc.strerror or exc}") from None


def require_v1(path: Path, magic: bytes) -> None:
    if magic == MAGIC_V1:
        return
    if magic == MAGIC_V3:
        raise C1ZUnsupportedFormat(
            f"{path} is a v3 (Pebble engine) c1z file: baton_cli reads v3 but writes only v1 (SQLite) "
            "files, so it cannot add to this one; write a new file instead (--out), or re-run the "
            "connector with --storage-engine sqlite (BATON_STORAGE_ENGINE=sqlite)"
        )
    detail = "empty file" if not magic else "unknown header"
    raise C1ZError(f"{path} is not a c1z file ({detail})")


def require_readable(path: Path, magic: bytes) -> None:
    """Either format is readable; anything else is refused as require_v1 does."""
    if magic != MAGIC_V3:
        require_v1(path, magic)


def decode_to_database(path: Path, magic: bytes, dest: Path, limits: DecodeLimits | None = None) -> None:
    """Write the SQLite database of the v1 or v3 (``magic``) file ``path`` to ``dest``.

    A v3 payload is unpacked into a ``pebble`` directory beside ``dest`` (in its work
    directory), removed once imported.
    """
    if magic != MAGIC_V3:
        decompress_v1(path, dest, limits)
        return
    scratch = dest.parent / "pebble"
    scratch.mkdir()
    from baton_cli.c1z.v3 import import_v3  # only v3 files pay for the Pebble reader

    import_v3(path, dest, scratch, limits)
    shutil.rmtree(scratch, ignore_errors=True)  # the payload is in the work database now


def decompress_v1(path: Path, dest: Path, limits: DecodeLimits | None = None) -> int:
    """Decode the SQLite database inside the v1 file ``path`` into ``dest``; returns its size."""
    limits = limits or DecodeLimits.from_env()
    require_v1(path, read_magic(path))
    try:
        with path.open("rb") as src, dest.open("wb") as out:
            end = os.fstat(src.fileno()).st_size
            _check_frames(path, src, end, limits)
            src.seek(len(MAGIC_V1))
            written = _stream_decode(path, src, out, limits)
    except zstandard.ZstdError as exc:
        raise C1ZError(f"{path} is not a valid c1z file: corrupt zstd data ({exc})") from None
    except OSError as exc:
        raise C1ZError(f"cannot decompress c1z file {path}: {exc.strerror or exc}") from None
    with dest.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise C1ZError(f"{path} is not a valid c1z file: its content is not a SQLite database")
    return written


def _check_frames(path: Path, src: BinaryIO, end: int, limits: DecodeLimits) -> None:
    try:
        frames = scan_frames(src, len(MAGIC_V1), end)
    except FrameError as exc:
        raise C1ZError(f"{path} is not a valid c1z file: {exc}") from None
    for frame in frames:
        if frame.window_size > limits.max_window_bytes:
            raise C1ZError(
                f"{path}: zstd window of {frame.window_size} bytes exceeds the decoder limit of "
                f"{limits.max_window_bytes} bytes (BATON_DECODER_MAX_MEMORY_MB)"
            )
    declared = sum(f.content_size or 0 for f in frames)
    if limits.fcs_fail_fast and declared > limits.max_decoded_bytes:
        raise C1ZError(
            f"{path}: declared decompressed size {declared} bytes exceeds the limit of "
            f"{limits.max_decoded_bytes} bytes (BATON_DECODER_MAX_DECODED_SIZE_MB)"
        )


def _stream_decode(path: Path, src: BinaryIO, out: BinaryIO, limits: DecodeLimits) -> int:
    """Decode into ``out``, refusing as soon as the output goes wrong, whatever the frames declare.

    Frames need not declare their size (older upstream writers never did), so the checks run
    on the output itself: it must start as a SQLite database, and it may not run past the
    size that database's header declares, nor past the decoder cap. A "zstd bomb" is stopped
    after its first megabyte instead of filling the disk up to the cap.
    """
    dctx = zstandard.ZstdDecompressor(max_window_size=limits.max_window_bytes)
    total = 0
    cap = limits.max_decoded_bytes
    too_big = (
        f"{path}: decompressed size exceeds the limit of {cap} bytes (BATON_DECODER_MAX_DECODED_SIZE_MB)"
    )
    with dctx.stream_reader(src, read_size=_CHUNK, read_across_frames=True, closefd=False) as reader:
        head = _read_at_least(reader, _SQLITE_HEADER_BYTES)
        if not head.startswith(SQLITE_HEADER):
            raise C1ZError(f"{path} is not a valid c1z file: its content is not a SQLite database")
        declared = _declared_database_size(head)
        if declared is not None and declared < cap:
            cap = declared
            too_big = (
                f"{path} is not a valid c1z file: its data runs past the {declared:,} bytes its SQLite "
                "header declares (corrupt, or a decompression bomb)"
            )
        chunk = head
        while chunk:
            total += len(chunk)
            if total > cap:
                raise C1ZError(too_big)
            out.write(chunk)
            chunk = reader.read(_CHUNK)
    return total


_SQLITE_HEADER_BYTES = 100


def _read_at_least(reader: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = reader.read(_CHUNK)
        if not more:
            break
        data += more
    return data


def _declared_database_size(header: bytes) -> int | None:
    """The database size a SQLite header states, when the header vouches for it (SQLite file
    format §1.3.9: valid if non-zero and the change counter equals version-valid-for)."""
    if len(header) < _SQLITE_HEADER_BYTES:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]
    if not valid or not pages or page_size < 512 or page_size & (page_size - 1):
        return None
    return page_size * pages


def write_v1(db_path: Path, target: Path, *, level: int = COMPRESSION_LEVEL) -> int:
    """Atomically replace ``target`` with a v1 c1z of ``db_path``; returns the bytes written."""
    directory = target.parent
    # os.urandom is what secrets.token_hex reads; secrets itself would pull in hmac and hashlib.
    tmp = directory / f"{target.name}.{os.urandom(6).hex()}.tmp"
    try:
        # O_EXCL + 0o666: a fresh name, and the usual umask-derived permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out, db_path.open("rb") as src:
            out.write(MAGIC_V1)
            size = os.fstat(src.fileno()).st_size
            cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
            _, written = cctx.copy_stream(src, out, size=size, read_size=_CHUNK, write_size=_CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    return len(MAGIC_V1) + int(written)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; some platforms/filesystems cannot fsync a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""Structural walk over a zstd stream (RFC 8878) without decoding it.

The streaming decoder we use silently stops at the end of its input, so a
truncated file would decode into a short, "valid-looking" prefix. Walking the
frame and block headers first proves every frame is complete and gives the
declared content sizes and window sizes for the fail-fast caps, at the cost of
one seek per block (a block holds up to 128 KiB of output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import zstandard

_FRAME_MAGIC = 0xFD2FB528
_SKIPPABLE_MASK = 0xFFFFFFF0
_SKIPPABLE_MAGIC = 0x184D2A50
_MAX_FRAME_HEADER = 18
_UNKNOWN_SIZE = zstandard.CONTENTSIZE_UNKNOWN
_BLOCK_RLE = 1
_BLOCK_RESERVED = 3


class FrameError(ValueError):
    """The bytes are not a complete, well-formed zstd stream."""


@dataclass(frozen=True, slots=True)
class FrameInfo:
    offset: int
    content_size: int | None  # None when the frame header does not declare it
    window_size: int
    has_checksum: bool


def scan_frames(fh: BinaryIO, start: int, end: int) -> list[FrameInfo]:
    """Frames found between byte offsets ``start`` and ``end`` of ``fh``."""
    frames: list[FrameInfo] = []
    pos = start
    while pos < end:
        magic = int.from_bytes(_read_exact(fh, pos, 4, end), "little")
        if magic & _SKIPPABLE_MASK == _SKIPPABLE_MAGIC:
            length = int.from_bytes(_read_exact(fh, pos + 4, 4, end), "little")
            pos += 8 + length
            if pos > end:
                raise FrameError("truncated skippable frame")
            continue
        if magic != _FRAME_MAGIC:
            raise FrameError(f"no zstd frame at byte {pos}")
        frame, pos = _scan_frame(fh, pos, end)
        frames.append(frame)
    if not frames:
        raise FrameError("no zstd frame")
    return frames


def _scan_frame(fh: BinaryIO, pos: int, end: int) -> tuple[FrameInfo, int]:
    fh.seek(pos)
    header = fh.read(min(_MAX_FRAME_HEADER, end - pos))
    try:
        header_size = zstandard.frame_header_size(header)
        params = zstandard.get_frame_parameters(header)
    except zstandard.ZstdError as exc:
        raise FrameError(f"bad zstd frame header at byte {pos}: {exc}") from None
    frame = FrameInfo(
        offset=pos,
        content_size=None if params.content_size == _UNKNOWN_SIZE else params.content_size,
        window_size=params.window_size,
        has_checksum=bool(params.has_checksum),
    )
    cursor = pos + header_size
    while True:
        block = int.from_bytes(_read_exact(fh, cursor, 3, end), "little")
        last, kind, size = block & 1, (block >> 1) & 3, block >> 3
        if kind == _BLOCK_RESERVED:
            raise FrameError(f"reserved zstd block type at byte {cursor}")
        cursor += 3 + (1 if kind == _BLOCK_RLE else size)
        if last:
            break
    if frame.has_checksum:
        cursor += 4
    if cursor > end:
        raise FrameError("truncated zstd frame")
    return frame, cursor


def _read_exact(fh: BinaryIO, pos: int, count: int, end: int) -> bytes:
    if pos + count > end:
        raise FrameError("truncated zstd frame")
    fh.seek(pos)
    data = fh.read(count)
    if len(data) != count:
        raise FrameError("truncated zstd frame")
    return data

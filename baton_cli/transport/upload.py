"""The UploadAsset request stream (runner.md §6.2): metadata, 512 KiB data chunks, eof with SHA-256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from baton_cli.errors import BatonError, NotFoundError
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

CHUNK_SIZE = 524_288
ATTEMPTS = 3
WAITS = (0.0, 1.0)  # before the 2nd and the 3rd attempt

UploadRequest = baton_pb2.BatonServiceUploadAssetRequest


def file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK_SIZE):
                digest.update(chunk)
    except FileNotFoundError:
        raise NotFoundError(f"upload: {path} not found") from None
    except OSError as exc:
        raise BatonError(f"upload: cannot read {path}: {exc.strerror or exc}") from None
    return digest.digest()


def upload_requests(
    host_id: str,
    task_id: str,
    path: Path,
    sha256: bytes,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[UploadRequest]:
    """Read lazily, so a large c1z is never held in memory; an empty file sends no data message.

    The generator owns the file: grpc consumes it on its own thread and may stop early (a cut
    stream), so the file is closed when grpc drops the generator, not by the caller.
    """
    yield UploadRequest(metadata=UploadRequest.UploadMetadata(host_id=host_id, task_id=task_id))
    with path.open("rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        sent = 0
        if on_progress is not None:
            on_progress(sent, total)
        while chunk := fh.read(CHUNK_SIZE):
            yield UploadRequest(data=UploadRequest.UploadData(data=chunk))
            # Called once grpc has taken the chunk (it asks for the next one): sent, not read.
            sent += len(chunk)
            if on_progress is not None:
                on_progress(sent, total)
    yield UploadRequest(eof=UploadRequest.UploadEOF(sha256_checksum=sha256))

"""One UploadAsset stream: metadata, data chunks, EOF with SHA-256 (runner.md §6.2).

Bytes go to a private ``.part`` file while they arrive; only a stream that ends with a
matching checksum and opens as a c1z is moved into ``uploads/<task_id>/`` and recorded on the
task. Anything else (bad hash, a stream cut before EOF, not a c1z) deletes the part file, so
a failed upload never leaves anything behind. The one non-c1z asset accepted is the raw debug
log a runner uploads for a ``debug`` task after its c1z (runner.md §4).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import threading
from pathlib import Path
from typing import BinaryIO

from baton_cli.c1z import MAGIC_V1, MAGIC_V3, C1ZReader
from baton_cli.emulator.events import EventLog
from baton_cli.emulator.grpc_framing import GrpcError
from baton_cli.emulator.queue import TaskQueue
from baton_cli.emulator.queue_records import RUNNING
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

MAX_CHUNK = 1024 * 1024  # UploadData.data validation: 1..1,048,576 bytes (wire.md §3)
DEFAULT_MAX_UPLOAD = 8 * 1024 * 1024 * 1024
_TASK_ID = re.compile(r"[a-zA-Z0-9]{27}")
_INCOMING = ".incoming"

UploadRequest = baton_pb2.BatonServiceUploadAssetRequest


def _invalid(message: str) -> GrpcError:
    return GrpcError(StatusCode.INVALID_ARGUMENT, message)


def check_ids(host_id: str, task_id: str) -> None:
    if not 1 <= len(host_id) <= 256:
        raise _invalid("host_id must be 1..256 characters")
    if not _TASK_ID.fullmatch(task_id):
        raise _invalid("task_id must be 27 letters or digits")


class UploadSession:
    """Fed messages in arrival order from a worker thread; ``abort`` may come from any thread."""

    def __init__(
        self, queue: TaskQueue, uploads_dir: Path, events: EventLog, *, max_bytes: int = DEFAULT_MAX_UPLOAD
    ) -> None:
        self._queue = queue
        self._uploads = uploads_dir
        self._events = events
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._host_id = ""
        self._task_id = ""
        self._debug_task = False
        self._part: Path | None = None
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._checksum: bytes | None = None
        self._done = False

    @property
    def task_id(self) -> str:
        return self._task_id

    def feed(self, message: UploadRequest) -> None:
        with self._lock:
            if self._done:
                raise GrpcError(StatusCode.ABORTED, "upload was aborted")
            kind = message.WhichOneof("msg")
            if kind == "metadata":
                self._start(message.metadata)
            elif self._part is None:
                raise _invalid("the first UploadAsset message must be metadata")
            elif self._checksum is not None:
                raise _invalid("no message may follow eof")
            elif kind == "data":
                self._write(message.data.data)
            elif kind == "eof":
                if len(message.eof.sha256_checksum) != 32:
                    raise _invalid("eof.sha256_checksum must be 32 bytes")
                self._checksum = message.eof.sha256_checksum
            else:
                raise _invalid("UploadAsset message has no metadata, data or eof")

    def finish(self) -> baton_pb2.BatonServiceUploadAssetResponse:
        """The client half-closed: verify, keep and record the file, or refuse and delete it."""
        with self._lock:
            try:
                return self._finish()
            finally:
                self._discard()

    def abort(self) -> None:
        with self._lock:
            self._discard()

    # -- internals (lock held) -----------------------------------------------------------------

    def _start(self, metadata: UploadRequest.UploadMetadata) -> None:
        if self._part is not None:
            raise _invalid("metadata may only be sent once")
        check_ids(metadata.host_id, metadata.task_id)
        try:
            record = self._queue.get(metadata.task_id)
        except BatonError as exc:
            raise GrpcError(exc.code, str(exc)) from exc
        if record.state != RUNNING or record.host_id != metadata.host_id:
            raise GrpcError(
                StatusCode.FAILED_PRECONDITION,
                f"task {metadata.task_id} is not running on host {metadata.host_id!r}",
            )
        self._host_id, self._task_id = metadata.host_id, metadata.task_id
        self._debug_task = self._queue.task_message(metadata.task_id).debug
        incoming = self._uploads / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        self._part = incoming / f"{metadata.task_id}-{secrets.token_hex(6)}.part"
        self._file = self._part.open("xb")

    def _write(self, chunk: bytes) -> None:
        if not 1 <= len(chunk) <= MAX_CHUNK:
            raise _invalid(f"data chunks must be 1..{MAX_CHUNK} bytes, got {len(chunk)}")
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise GrpcError(StatusCode.RESOURCE_EXHAUSTED, f"upload exceeds {self._max_bytes} bytes")
        assert self._file is not None  # set together with _part
        self._file.write(chunk)
        self._hash.update(chunk)

    def _finish(self) -> baton_pb2.BatonServiceUploadAssetResponse:
        if self._done:
            raise GrpcError(StatusCode.ABORTED, "upload was aborted")
        if self._part is None or self._file is None:
            raise _invalid("upload ended before metadata")
        if self._checksum is None:
            raise GrpcError(StatusCode.DATA_LOSS, "upload ended before eof: the stream was cut")
        digest = self._hash.digest()
        if digest != self._checksum:
            raise _invalid("sha256 checksum does not match the uploaded bytes")
        self._file.close()
        with self._part.open("rb") as fh:
            magic = fh.read(len(MAGIC_V1))
        target_dir = self._uploads / self._task_id
        target_dir.mkdir(parents=True, exist_ok=True)
        if magic in (MAGIC_V1, MAGIC_V3) or not self._debug_task:
            counts = self._c1z_counts(self._part)
            target = target_dir / f"{digest.hex()[:16]}.c1z"
            self._part.replace(target)
            try:
                self._queue.record_upload(
                    self._task_id, self._host_id, path=target, sha256=digest.hex(), counts=counts
                )
            except BatonError as exc:
                target.unlink(missing_ok=True)
                raise GrpcError(exc.code, str(exc)) from exc
            summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
            self._events.add(f"upload for task {self._task_id}: {self._size} bytes, {summary}")
        else:
            target = target_dir / "debug.log"
            self._part.replace(target)
            self._events.add(f"debug log for task {self._task_id}: {self._size} bytes")
        return baton_pb2.BatonServiceUploadAssetResponse()

    def _c1z_counts(self, path: Path) -> dict[str, int]:
        try:
            with C1ZReader.open(path, tmp_dir=path.parent) as reader:
                run = reader.pick_sync()
                return dataclasses.asdict(reader.counts(run.sync_id))
        except BatonError as exc:
            raise _invalid(f"upload is not a readable c1z: {exc}") from exc

    def _discard(self) -> None:
        self._done = True
        if self._file is not None:
            self._file.close()
        if self._part is not None:
            self._part.unlink(missing_ok=True)

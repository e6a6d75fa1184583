"""An opened v3 c1z: its payload unpacked to a scratch directory, its live tables ready to merge."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from baton_cli.c1z.container import DecodeLimits
from baton_cli.c1z.v3 import keyspace
from baton_cli.c1z.v3.checkpoint import Checkpoint, open_checkpoint
from baton_cli.c1z.v3.envelope import Envelope, read_envelope, unpack_payload
from baton_cli.c1z.v3.merge import LiveTable, fragment, latest
from baton_cli.c1z.v3.pebble_manifest import live_tables
from baton_cli.c1z.v3.problems import corrupt, unsupported
from baton_cli.c1z.v3.sstable import RangeDeletion, Table
from baton_cli.errors import C1ZError
from baton_cli.pb.c1.c1z.v3 import manifest_pb2
from baton_cli.pb.c1.storage.v3 import records_pb2

M = TypeVar("M", bound=Message)

_FAMILY_NAMES = {
    keyspace.RESOURCE_TYPE: "resource type",
    keyspace.RESOURCE: "resource",
    keyspace.ENTITLEMENT: "entitlement",
    keyspace.GRANT: "grant",
    keyspace.SYNC_RUN: "sync run",
}


class V3File:
    """Read-only; ``scratch`` is an empty directory the caller owns and removes after ``close()``."""

    def __init__(
        self, path: Path, envelope: Envelope, checkpoint: Checkpoint, tables: list[LiveTable]
    ) -> None:
        self.path = path
        self.envelope = envelope
        self.checkpoint = checkpoint
        self._tables = tables
        self._fragments: list[RangeDeletion] = fragment(d for t in tables for d in t.range_deletions())
        self._check_meta()

    @classmethod
    def open(cls, path: str | os.PathLike[str], scratch: Path, limits: DecodeLimits | None = None) -> V3File:
        source = Path(path)
        limits = limits or DecodeLimits.from_env()
        try:
            with source.open("rb") as fh:
                envelope = read_envelope(source, fh)
                unpack_payload(source, fh, envelope, scratch, limits)
        except OSError as exc:
            # A full disk or an unreadable file: one line, as for v1 files.
            raise C1ZError(f"cannot unpack c1z file {source}: {exc.strerror or exc}") from None
        checkpoint = open_checkpoint(source, scratch)
        opened: dict[int, Table] = {}
        try:
            tables = []
            for meta in live_tables(source, checkpoint.manifest):
                number = meta.file_number
                if number not in opened:
                    table_path = checkpoint.table_path(number)
                    if not table_path.is_file():
                        raise corrupt(source, f"live table {table_path.name} is missing from the payload")
                    opened[number] = Table(source, table_path)
                tables.append(LiveTable(meta, opened[number]))
            return cls(source, envelope, checkpoint, tables)
        except BaseException:
            for table in opened.values():
                table.close()
            raise

    def close(self) -> None:
        for live in self._tables:
            live.table.close()

    def __enter__(self) -> V3File:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def manifest(self) -> manifest_pb2.C1ZManifestV3:
        return self.envelope.manifest

    # -- keys ------------------------------------------------------------------------------------

    def items(self, lower: bytes, upper: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """Live (key, value) pairs in [lower, upper), in key order."""
        return latest(self.path, self._tables, self._fragments, lower, upper)

    def family(self, family: int) -> Iterator[tuple[bytes, bytes]]:
        return self.items(*keyspace.family_range(family))

    def _records(self, family: int, decode: Callable[[bytes], M]) -> Iterator[M]:
        for key, value in self.family(family):
            try:
                yield decode(value)
            except DecodeError:
                what = _FAMILY_NAMES.get(family, "record")
                raise corrupt(self.path, f"{what} record at key {key[:64].hex()} does not decode") from None

    def _check_meta(self) -> None:
        meta = dict(self.family(keyspace.META))
        version = meta.get(keyspace.meta_key([keyspace.META_KEYSPACE_VERSION]))
        if version is None:
            if any(
                True for _ in self.items(bytes([keyspace.PREFIX]), bytes([keyspace.PREFIX, keyspace.META]))
            ):
                raise unsupported(self.path, "the old multi-sync key layout (no keyspace_version)")
        elif int.from_bytes(version, "big") != keyspace.KEYSPACE_VERSION or len(version) != 4:
            raise unsupported(self.path, f"keyspace version {version.hex()} (readable: 2)")
        id_format = meta.get(keyspace.meta_key([keyspace.META_ID_FORMAT]))
        if id_format is not None and (
            len(id_format) != 4 or int.from_bytes(id_format, "big") != keyspace.GRANT_ENTITLEMENT_ID_FORMAT
        ):
            raise unsupported(self.path, f"grant entitlement id format {id_format.hex()} (readable: 2)")

    # -- records ---------------------------------------------------------------------------------

    def sync_run(self) -> records_pb2.SyncRunRecord | None:
        """The file's one sync run (None for a file without one)."""
        found: records_pb2.SyncRunRecord | None = None
        for key, value in self.family(keyspace.SYNC_RUN):
            if key != keyspace.SYNC_RUN_KEY:
                raise unsupported(self.path, f"sync run key {key[:64].hex()} (only the single key 0306)")
            try:
                found = records_pb2.SyncRunRecord.FromString(value)
            except DecodeError:
                raise corrupt(self.path, "sync run record does not decode") from None
        return found

    def stats(self) -> records_pb2.SyncStatsRecord | None:
        for _key, value in self.items(*_exact(keyspace.meta_key(keyspace.META_STATS))):
            try:
                return records_pb2.SyncStatsRecord.FromString(value)
            except DecodeError:
                raise corrupt(self.path, "sync stats record does not decode") from None
        return None

    def resource_types(self) -> Iterator[records_pb2.ResourceTypeRecord]:
        return self._records(keyspace.RESOURCE_TYPE, records_pb2.ResourceTypeRecord.FromString)

    def resources(self) -> Iterator[records_pb2.ResourceRecord]:
        return self._records(keyspace.RESOURCE, records_pb2.ResourceRecord.FromString)

    def entitlements(self) -> Iterator[records_pb2.EntitlementRecord]:
        return self._records(keyspace.ENTITLEMENT, records_pb2.EntitlementRecord.FromString)

    def grants(self) -> Iterator[records_pb2.GrantRecord]:
        return self._records(keyspace.GRANT, records_pb2.GrantRecord.FromString)


def _exact(key: bytes) -> tuple[bytes, bytes]:
    return key, key + b"\x00"

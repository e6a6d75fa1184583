"""Options and the open-file session shared by the c1z inspection commands."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from baton_cli.c1z.inspect_queries import InspectQueries
from baton_cli.c1z.reader import C1ZReader
from baton_cli.c1z.runs import SyncRun
from baton_cli.cli import options as opt
from baton_cli.cli.inspect_output import to_json
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import resource_pb2

# The shared declarations live in baton_cli.cli.options; these names keep the inspection modules short.
FileOption = opt.File
OutputOption = opt.Output
SyncIdOption = opt.SyncId
TypeOption = opt.ResourceType
ResourceOption = opt.Resource
EntitlementOption = opt.Entitlement
DEFAULT_FILE = opt.DEFAULT_FILE


def temp_dir() -> str | None:
    # Same variables as `baton sync` (cli.md §3.2): big files may need a roomier disk than /tmp.
    return os.environ.get("BATON_C1Z_TEMP_DIR") or os.environ.get("BATON_TMPDIR") or None


@dataclass(frozen=True, slots=True)
class Session:
    """One open c1z, the sync being shown, and its resource types (cached: every row needs one)."""

    reader: C1ZReader
    queries: InspectQueries
    sync: SyncRun
    types: Mapping[str, resource_pb2.ResourceType]
    _type_json: dict[str, str] = field(default_factory=dict)

    @property
    def sync_id(self) -> str:
        return self.sync.sync_id

    def resource_type(self, type_id: str) -> resource_pb2.ResourceType:
        # A row whose type is missing from the catalog still renders, with an id-only type.
        return self.types.get(type_id) or resource_pb2.ResourceType(id=type_id)

    def type_json(self, type_id: str) -> str:
        found = self._type_json.get(type_id)
        if found is None:
            found = self._type_json[type_id] = to_json(self.resource_type(type_id))
        return found

    def require_type(self, type_id: str | None) -> str | None:
        if type_id is not None and type_id not in self.types:
            known = ", ".join(sorted(self.types)) or "none"
            raise NotFoundError(
                f"resource type {type_id!r} not found in sync {self.sync_id} (known: {known})"
            )
        return type_id

    def split_ref(
        self, ref: str, type_id: str | None = None, *, what: str = "--resource"
    ) -> tuple[str | None, str]:
        """``TYPE:ID`` -> (TYPE, ID) when TYPE is a known type; ids may themselves contain colons.

        Without a type (from ``-t``), a reference that is not ``TYPE:ID`` at all is a usage
        error: it cannot match anything, and silently listing nothing hides the typo.
        """
        if type_id is not None:
            return self.require_type(type_id), ref
        head, sep, rest = ref.partition(":")
        if not sep or not head or not rest:
            example = f"{next(iter(sorted(self.types)), 'user')}:ID"
            raise UsageError(f"{what} must be TYPE:ID (for example {example}), got {ref!r}")
        if head in self.types:
            return head, rest
        return None, ref

    def require_ref(self, ref: str, what: str) -> tuple[str, str]:
        type_id, object_id = self.split_ref(ref, what=what)
        if type_id is None:
            known = ", ".join(sorted(self.types)) or "none"
            raise UsageError(f"{what} must be TYPE:ID with a known resource type ({known}), got {ref!r}")
        return type_id, object_id


@contextmanager
def open_session(path: Path, sync_id: str | None) -> Iterator[Session]:
    with C1ZReader.open(path, tmp_dir=temp_dir()) as reader:
        sync = reader.pick_sync(sync_id)
        queries = InspectQueries(reader)
        yield Session(reader, queries, sync, queries.resource_types(sync.sync_id))

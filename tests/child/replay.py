"""The stand-in's ``--input FILE``: serve what an upstream connector recorded in a c1z it wrote.

baton-file reads a template and serves its resources, entitlements and grants; the Go SDK then
syncs and expands them into a c1z. Replaying such a c1z through the stand-in serves the same
connector output again: every resource type, resource (top level, or under its parent),
entitlement, and the grants the connector itself returned, that is, all but the ones expansion
derived (``GrantImmutable``, with sources). Syncing that through the bridge must give the counts
the Go SDK produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from baton_cli.c1z.reader import C1ZReader
from baton_cli.connector.api import (
    ConnectorMetadata,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceType,
)
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2


def _key(resource_id: ResourceId) -> tuple[str, str]:
    return resource_id.resource_type, resource_id.resource


class _ReplaySyncer:
    def __init__(
        self,
        resource_type: ResourceType,
        resources: list[Resource],
        entitlements: dict[tuple[str, str], list[Entitlement]],
        grants: dict[tuple[str, str], list[Grant]],
    ) -> None:
        self._type = resource_type
        self._resources = resources
        self._entitlements = entitlements
        self._grants = grants

    @property
    def resource_type(self) -> ResourceType:
        return self._type

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        wanted = None if parent is None else _key(parent)
        return Page(
            [
                r
                for r in self._resources
                if (_key(r.parent_resource_id) if r.HasField("parent_resource_id") else None) == wanted
            ]
        )

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page(self._entitlements.get(_key(resource.id), []))

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page(self._grants.get(_key(resource.id), []))


class ReplayConnector:
    def __init__(self, path: Path) -> None:
        reader = C1ZReader.open(path)
        try:
            sync_id = reader.pick_sync().sync_id
            types = list(reader.resource_types(sync_id))
            resources = list(reader.resources(sync_id))
            entitlements: dict[tuple[str, str], list[Entitlement]] = {}
            for entitlement in reader.entitlements(sync_id):
                entitlements.setdefault(_key(entitlement.resource.id), []).append(entitlement)
            grants: dict[tuple[str, str], list[Grant]] = {}
            for grant in reader.grants(sync_id, with_expansion=True):
                if any(a.Is(annotation_grant_pb2.GrantImmutable.DESCRIPTOR) for a in grant.annotations):
                    continue  # derived by the SDK's expansion, not served by the connector
                grants.setdefault(_key(grant.entitlement.resource.id), []).append(grant)
        finally:
            reader.close()
        self._syncers = [
            _ReplaySyncer(t, [r for r in resources if r.id.resource_type == t.id], entitlements, grants)
            for t in types
        ]

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="replay")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[_ReplaySyncer]:
        return self._syncers

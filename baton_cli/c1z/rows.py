"""Row tuples for the v1 tables, in the column order of the upsert statements.

Kept free of SQL so the per-row work (the hot path of a sync) is plain
attribute access plus one deterministic serialization.
"""

from __future__ import annotations

from baton_cli.c1z.expansion import split_expandable
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

ResourceTypeRow = tuple[str, bytes, str, str]
ResourceRow = tuple[str, str, str | None, str | None, bytes, str, str]
EntitlementRow = tuple[str, str, str, bytes, str, str]
GrantRow = tuple[str, str, str, str, str, str, bytes | None, int, bytes, str, str]
# A grant's first six columns (entitlement resource type and id, entitlement id, principal type
# and id, grant id) when the caller has read them already.
GrantIds = tuple[str, str, str, str, str, str]


def resource_type_row(item: resource_pb2.ResourceType, sync_id: str, now: str) -> ResourceTypeRow:
    return (item.id, item.SerializeToString(deterministic=True), sync_id, now)


def resource_row(item: resource_pb2.Resource, sync_id: str, now: str) -> ResourceRow:
    rid = item.id
    parent_type: str | None = None
    parent_id: str | None = None
    if item.HasField("parent_resource_id"):
        parent = item.parent_resource_id
        parent_type, parent_id = parent.resource_type, parent.resource
    return (
        rid.resource_type,
        f"{rid.resource_type}:{rid.resource}",
        parent_type,
        parent_id,
        item.SerializeToString(deterministic=True),
        sync_id,
        now,
    )


def entitlement_row(item: entitlement_pb2.Entitlement, sync_id: str, now: str) -> EntitlementRow:
    rid = item.resource.id
    return (
        rid.resource_type,
        rid.resource,
        item.id,
        item.SerializeToString(deterministic=True),
        sync_id,
        now,
    )


def grant_row(item: grant_pb2.Grant, sync_id: str, now: str) -> GrantRow:
    entitlement = item.entitlement
    target = entitlement.resource.id
    principal = item.principal.id
    ids = (
        target.resource_type,
        target.resource,
        entitlement.id,
        principal.resource_type,
        principal.resource,
        item.id,
    )
    return grant_row_with_ids(item, ids, sync_id, now)


def grant_row_with_ids(item: grant_pb2.Grant, ids: GrantIds, sync_id: str, now: str) -> GrantRow:
    """``grant_row`` for a grant whose ids were read before (they must be the grant's own)."""
    expansion: bytes | None = None
    if item.annotations:
        split = split_expandable(item)
        data, expansion = split.data, split.expansion
    else:
        data = item.SerializeToString(deterministic=True)
    return (*ids, expansion, 0 if expansion is None else 1, data, sync_id, now)

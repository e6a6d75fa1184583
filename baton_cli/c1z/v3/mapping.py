"""v3 records to the connector v2 messages every other part of baton_cli uses (c1z-v3.md §7.3).

This is what upstream's v3 reader returns, plus the one difference it makes
itself: a GrantExpandable annotation built from the record's ``expansion``
(the v1 layer moves it into its own column, as for any grant).
"""

from __future__ import annotations

from baton_cli.pb.c1.connector.v2 import (
    annotation_grant_pb2,
    asset_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)
from baton_cli.pb.c1.storage.v3 import records_pb2, refs_pb2

_TRAITS = resource_pb2.ResourceType.Trait
_PURPOSES = entitlement_pb2.Entitlement.PurposeValue


def resource_id(resource_type: str, resource: str) -> resource_pb2.ResourceId:
    return resource_pb2.ResourceId(resource_type=resource_type, resource=resource)


def _ref_id(ref: refs_pb2.ResourceRef) -> resource_pb2.ResourceId:
    return resource_id(ref.resource_type_id, ref.resource_id)


def _trait(name: str) -> int:
    try:
        return int(_TRAITS.Value(f"TRAIT_{name}"))
    except ValueError:
        return 0


def _purpose(name: str) -> int:
    if not name:
        return 0
    try:
        return int(_PURPOSES.Value(f"PURPOSE_VALUE_{name}"))
    except ValueError:
        return 0


def resource_type(record: records_pb2.ResourceTypeRecord) -> resource_pb2.ResourceType:
    return resource_pb2.ResourceType(
        id=record.external_id,
        display_name=record.display_name,
        traits=[_trait(t) for t in record.traits],  # type: ignore[misc]
        annotations=record.annotations,
        description=record.description,
        sourced_externally=record.sourced_externally,
    )


def resource(record: records_pb2.ResourceRecord) -> resource_pb2.Resource:
    out = resource_pb2.Resource(
        id=resource_id(record.resource_type_id, record.resource_id),
        display_name=record.display_name,
        description=record.description,
        annotations=record.annotations,
    )
    if record.parent.resource_id:
        out.parent_resource_id.CopyFrom(_ref_id(record.parent))
    if record.HasField("profile"):
        out.profile.CopyFrom(record.profile)
    if record.HasField("created_at"):
        out.created_at.CopyFrom(record.created_at)
    if record.HasField("status"):
        out.status.status = record.status.status  # type: ignore[assignment]
        out.status.details = record.status.details
    if record.icon_asset_external_id:
        out.icon.CopyFrom(asset_pb2.AssetRef(id=record.icon_asset_external_id))
    return out


def entitlement(record: records_pb2.EntitlementRecord) -> entitlement_pb2.Entitlement:
    out = entitlement_pb2.Entitlement(
        id=record.external_id,
        display_name=record.display_name,
        description=record.description,
        annotations=record.annotations,
        purpose=_purpose(record.purpose),  # type: ignore[arg-type]
        slug=record.slug,
        grantable_to=[resource_pb2.ResourceType(id=t) for t in record.grantable_to_resource_type_ids],
    )
    out.resource.id.CopyFrom(_ref_id(record.resource))
    return out


def grant_id(record: records_pb2.GrantRecord) -> str:
    if record.external_id:
        return record.external_id
    principal = record.principal
    return f"{record.entitlement.entitlement_id}:{principal.resource_type_id}:{principal.resource_id}"


def grant(record: records_pb2.GrantRecord) -> grant_pb2.Grant:
    out, expansion = grant_and_expansion(record)
    if expansion is not None:
        out.annotations.add().Pack(expansion)
    return out


def grant_and_expansion(
    record: records_pb2.GrantRecord,
) -> tuple[grant_pb2.Grant, annotation_grant_pb2.GrantExpandable | None]:
    """``grant(record)`` without its GrantExpandable annotation, and that annotation's message.

    The v1 import stores the two apart (c1z.md §4.5), so it takes them apart here rather than
    packing the annotation only to strip it again.
    """
    # The hot path of opening a v3 file (most rows are grants): fields are set in place rather
    # than built as separate messages and copied in.
    ref = record.entitlement
    principal = record.principal
    out = grant_pb2.Grant(id=grant_id(record))
    if record.annotations:
        out.annotations.extend(record.annotations)
    entitlement_ref = out.entitlement
    entitlement_ref.id = ref.entitlement_id
    target = entitlement_ref.resource.id
    target.resource_type = ref.resource_type_id
    target.resource = ref.resource_id
    who = out.principal.id
    who.resource_type = principal.resource_type_id
    who.resource = principal.resource_id
    if principal.parent_resource_id:
        parent = out.principal.parent_resource_id
        parent.resource_type = principal.parent_resource_type_id
        parent.resource = principal.parent_resource_id
    for key, source in record.sources.items():
        out.sources.sources[key].is_direct = source.is_direct
    expansion = None
    if record.HasField("expansion") and record.expansion.entitlement_ids:
        expansion = annotation_grant_pb2.GrantExpandable(
            entitlement_ids=record.expansion.entitlement_ids,
            shallow=record.expansion.shallow,
            resource_type_ids=record.expansion.resource_type_ids,
        )
    return out, expansion

"""Annotation checks the sync engine applies to what a connector returns."""

from __future__ import annotations

from collections.abc import Iterator

from baton_cli.annotations import type_url
from baton_cli.connector.api import Resource, ResourceType
from baton_cli.errors import ConnectorError
from baton_cli.pb.c1.connector.v2 import (
    annotation_resource_tree_pb2,
    annotation_trait_pb2,
)

# Trait -> (annotation message name, Any type URL); comparing URLs avoids unpacking every annotation.
_TRAIT_ANNOTATIONS: dict[int, tuple[str, str]] = {
    trait: (message.DESCRIPTOR.name, type_url(message))
    for trait, message in (
        (ResourceType.TRAIT_USER, annotation_trait_pb2.UserTrait),
        (ResourceType.TRAIT_GROUP, annotation_trait_pb2.GroupTrait),
        (ResourceType.TRAIT_ROLE, annotation_trait_pb2.RoleTrait),
        (ResourceType.TRAIT_APP, annotation_trait_pb2.AppTrait),
        (ResourceType.TRAIT_SECRET, annotation_trait_pb2.SecretTrait),
    )
}


def check_trait(resource_type: ResourceType, resource: Resource) -> None:
    """A resource must carry the trait annotation its type declares (runner.md §7.2)."""
    for trait in resource_type.traits:
        required = _TRAIT_ANNOTATIONS.get(trait)
        if required is None:
            continue
        name, url = required
        if not any(a.type_url == url for a in resource.annotations):
            raise ConnectorError(
                f"resource {resource.id.resource_type}:{resource.id.resource} lacks the "
                f"{name} annotation its resource type {resource_type.id!r} declares"
            )


def child_resource_type_ids(resource: Resource) -> Iterator[str]:
    descriptor = annotation_resource_tree_pb2.ChildResourceType.DESCRIPTOR
    for annotation in resource.annotations:
        if annotation.Is(descriptor):
            child = annotation_resource_tree_pb2.ChildResourceType()
            annotation.Unpack(child)
            if child.resource_type_id:
                yield child.resource_type_id


_SKIP_ALL = type_url(annotation_resource_tree_pb2.SkipEntitlementsAndGrants)
_SKIP_ENTITLEMENTS = type_url(annotation_resource_tree_pb2.SkipEntitlements)
_SKIP_GRANTS = type_url(annotation_resource_tree_pb2.SkipGrants)
# Checked once per resource and listing: built once.
_SKIPS_ENTITLEMENTS = frozenset((_SKIP_ALL, _SKIP_ENTITLEMENTS))
_SKIPS_GRANTS = frozenset((_SKIP_ALL, _SKIP_GRANTS))


def skips(type_annotation_urls: frozenset[str], resource: Resource, operation: str) -> bool:
    """Whether the resource or its type opts out of this listing (runner.md §7.2 steps 4-5)."""
    markers = _SKIPS_ENTITLEMENTS if operation == "list-entitlements" else _SKIPS_GRANTS
    if not markers.isdisjoint(type_annotation_urls):
        return True
    annotations = resource.annotations
    return bool(annotations) and any(a.type_url in markers for a in annotations)

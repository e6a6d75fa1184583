"""Builders for the common connector shapes, with upstream's id layouts.

Entitlement ids are ``"<resource_type>:<resource_id>:<slug>"`` and grant ids
``"<entitlement id>:<principal_type>:<principal_id>"`` (runner.md §7.2, §7.5),
so data built here lines up with what the platform and grant expansion expect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from google.protobuf import any_pb2, struct_pb2
from google.protobuf.message import Message

from baton_cli.pb.c1.connector.v2 import (
    annotation_grant_pb2,
    annotation_resource_tree_pb2,
    annotation_trait_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)

ResourceType = resource_pb2.ResourceType
Resource = resource_pb2.Resource
ResourceId = resource_pb2.ResourceId
Entitlement = entitlement_pb2.Entitlement
Grant = grant_pb2.Grant
Trait: TypeAlias = resource_pb2.ResourceType.Trait.ValueType
UserStatus: TypeAlias = annotation_trait_pb2.UserTrait.Status.Status.ValueType
Purpose: TypeAlias = entitlement_pb2.Entitlement.PurposeValue.ValueType
Profile: TypeAlias = Mapping[str, Any]
"""JSON-like values: str, int, float, bool, None, nested mappings and lists."""

TRAIT_USER = resource_pb2.ResourceType.TRAIT_USER
TRAIT_GROUP = resource_pb2.ResourceType.TRAIT_GROUP
TRAIT_ROLE = resource_pb2.ResourceType.TRAIT_ROLE
TRAIT_APP = resource_pb2.ResourceType.TRAIT_APP
TRAIT_SECRET = resource_pb2.ResourceType.TRAIT_SECRET

STATUS_ENABLED = annotation_trait_pb2.UserTrait.Status.STATUS_ENABLED
STATUS_DISABLED = annotation_trait_pb2.UserTrait.Status.STATUS_DISABLED
STATUS_DELETED = annotation_trait_pb2.UserTrait.Status.STATUS_DELETED

PURPOSE_ASSIGNMENT = entitlement_pb2.Entitlement.PURPOSE_VALUE_ASSIGNMENT
PURPOSE_PERMISSION = entitlement_pb2.Entitlement.PURPOSE_VALUE_PERMISSION
PURPOSE_OWNERSHIP = entitlement_pb2.Entitlement.PURPOSE_VALUE_OWNERSHIP


def pack(message: Message) -> any_pb2.Any:
    """Wrap a message as an annotation (type URL ``type.googleapis.com/<full name>``)."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# Trait annotations without fields are identical for every resource: pack them once.
_GROUP_TRAIT = pack(annotation_trait_pb2.GroupTrait())
_ROLE_TRAIT = pack(annotation_trait_pb2.RoleTrait())


def _struct(profile: Profile | None) -> struct_pb2.Struct | None:
    if profile is None:
        return None
    struct = struct_pb2.Struct()
    struct.update(dict(profile))
    return struct


def resource_type(
    id: str,
    display_name: str,
    traits: Iterable[Trait] = (),
    description: str = "",
    annotations: Iterable[any_pb2.Any] = (),
) -> ResourceType:
    return ResourceType(
        id=id, display_name=display_name, traits=traits, description=description, annotations=annotations
    )


def resource_id(type_id: str, id: str) -> ResourceId:
    return ResourceId(resource_type=type_id, resource=id)


def child_resource_type(type_id: str) -> any_pb2.Any:
    """The annotation that makes the sync list ``type_id`` resources under this resource."""
    return pack(annotation_resource_tree_pb2.ChildResourceType(resource_type_id=type_id))


def resource(
    type_id: str,
    id: str,
    display_name: str,
    *,
    parent: ResourceId | None = None,
    description: str = "",
    children: Iterable[str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Resource:
    """A resource without a trait; ``children`` are child resource type ids."""
    return Resource(
        id=ResourceId(resource_type=type_id, resource=id),
        parent_resource_id=parent,
        display_name=display_name,
        description=description,
        annotations=[*annotations, *(child_resource_type(child) for child in children)],
    )


def user_resource(
    type_id: str,
    id: str,
    display_name: str,
    *,
    email: str = "",
    login: str = "",
    status: UserStatus = STATUS_ENABLED,
    profile: Profile | None = None,
    parent: ResourceId | None = None,
    children: Iterable[str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Resource:
    """A resource carrying a UserTrait: primary email, login and status."""
    trait = annotation_trait_pb2.UserTrait(
        emails=[annotation_trait_pb2.UserTrait.Email(address=email, is_primary=True)] if email else (),
        login=login,
        status=annotation_trait_pb2.UserTrait.Status(status=status),
        profile=_struct(profile),
    )
    return resource(
        type_id, id, display_name, parent=parent, children=children, annotations=[pack(trait), *annotations]
    )


def group_resource(
    type_id: str,
    id: str,
    display_name: str,
    *,
    profile: Profile | None = None,
    parent: ResourceId | None = None,
    children: Iterable[str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Resource:
    trait = (
        _GROUP_TRAIT if profile is None else pack(annotation_trait_pb2.GroupTrait(profile=_struct(profile)))
    )
    return resource(
        type_id, id, display_name, parent=parent, children=children, annotations=[trait, *annotations]
    )


def role_resource(
    type_id: str,
    id: str,
    display_name: str,
    *,
    profile: Profile | None = None,
    parent: ResourceId | None = None,
    children: Iterable[str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Resource:
    trait = _ROLE_TRAIT if profile is None else pack(annotation_trait_pb2.RoleTrait(profile=_struct(profile)))
    return resource(
        type_id, id, display_name, parent=parent, children=children, annotations=[trait, *annotations]
    )


def app_resource(
    type_id: str,
    id: str,
    display_name: str,
    *,
    help_url: str = "",
    profile: Profile | None = None,
    parent: ResourceId | None = None,
    children: Iterable[str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Resource:
    trait = annotation_trait_pb2.AppTrait(help_url=help_url, profile=_struct(profile))
    return resource(
        type_id, id, display_name, parent=parent, children=children, annotations=[pack(trait), *annotations]
    )


def entitlement_id(resource: Resource | ResourceId, slug: str) -> str:
    rid = resource.id if isinstance(resource, Resource) else resource
    return f"{rid.resource_type}:{rid.resource}:{slug}"


def entitlement(
    resource: Resource,
    slug: str,
    *,
    purpose: Purpose,
    display_name: str | None = None,
    description: str | None = None,
    grantable_to: Iterable[ResourceType | str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Entitlement:
    """An entitlement on ``resource``; the display name defaults to the slug, as upstream's."""
    return Entitlement(
        resource=resource,
        id=entitlement_id(resource, slug),
        display_name=slug if display_name is None else display_name,
        description=description or "",
        grantable_to=[ResourceType(id=t) if isinstance(t, str) else t for t in grantable_to],
        annotations=annotations,
        purpose=purpose,
        slug=slug,
    )


def assignment_entitlement(
    resource: Resource,
    slug: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    grantable_to: Iterable[ResourceType | str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Entitlement:
    """Membership-like: holding it means being assigned to the resource (e.g. a group's ``member``)."""
    return entitlement(
        resource,
        slug,
        purpose=PURPOSE_ASSIGNMENT,
        display_name=display_name,
        description=description,
        grantable_to=grantable_to,
        annotations=annotations,
    )


def permission_entitlement(
    resource: Resource,
    slug: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    grantable_to: Iterable[ResourceType | str] = (),
    annotations: Iterable[any_pb2.Any] = (),
) -> Entitlement:
    """A permission on the resource (e.g. an app's ``admin``)."""
    return entitlement(
        resource,
        slug,
        purpose=PURPOSE_PERMISSION,
        display_name=display_name,
        description=description,
        grantable_to=grantable_to,
        annotations=annotations,
    )


def grant_id(entitlement: Entitlement | str, principal: Resource | ResourceId) -> str:
    ent_id = entitlement if isinstance(entitlement, str) else entitlement.id
    pid = principal.id if isinstance(principal, Resource) else principal
    return f"{ent_id}:{pid.resource_type}:{pid.resource}"


def grant(
    entitlement: Entitlement,
    principal: Resource | ResourceId,
    *,
    annotations: Iterable[any_pb2.Any] = (),
) -> Grant:
    """A grant of ``entitlement`` to ``principal``.

    The entitlement and principal are embedded as given; a slim entitlement
    (id + resource id) and a principal carrying just its id are enough for the
    sync and much cheaper when a connector emits many grants.
    """
    if isinstance(principal, ResourceId):
        principal = Resource(id=principal)
    return Grant(
        id=f"{entitlement.id}:{principal.id.resource_type}:{principal.id.resource}",
        entitlement=entitlement,
        principal=principal,
        annotations=annotations,
    )


def grant_factory(entitlement: Entitlement, principal_type: str) -> Callable[[str], Grant]:
    """Builds grants of one entitlement to principals of one type, given the principal id.

    Copying a prepared template is about twice as fast as keyword construction,
    which matters for connectors that list grants by the hundred thousand.
    """
    template = Grant(entitlement=entitlement, principal=Resource(id=ResourceId(resource_type=principal_type)))
    prefix = f"{entitlement.id}:{principal_type}:"

    def make(principal_id: str) -> Grant:
        built = Grant()
        built.CopyFrom(template)
        built.id = prefix + principal_id
        built.principal.id.resource = principal_id
        return built

    return make


def grant_expandable(
    entitlement_ids: Sequence[str], shallow: bool = False, resource_type_ids: Sequence[str] = ()
) -> any_pb2.Any:
    """Annotation saying "holders of these entitlements (on the principal) also hold this grant's"."""
    if not entitlement_ids:
        raise ValueError("grant_expandable needs at least one entitlement id")
    return pack(
        annotation_grant_pb2.GrantExpandable(
            entitlement_ids=entitlement_ids, shallow=shallow, resource_type_ids=resource_type_ids
        )
    )

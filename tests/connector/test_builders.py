from __future__ import annotations

from google.protobuf import struct_pb2

from baton_cli.connector import builders
from baton_cli.connector.api import ResourceId
from baton_cli.pb.c1.connector.v2 import (
    annotation_grant_pb2,
    annotation_resource_tree_pb2,
    annotation_trait_pb2,
    entitlement_pb2,
)


def only(annotations: object, message: type) -> object:
    found = [a for a in annotations if a.Is(message.DESCRIPTOR)]  # type: ignore[attr-defined]
    assert len(found) == 1
    value = message()
    found[0].Unpack(value)
    return value


def test_resource_type() -> None:
    rtype = builders.resource_type("user", "User", [builders.TRAIT_USER], description="People")
    assert (rtype.id, rtype.display_name, list(rtype.traits), rtype.description) == (
        "user",
        "User",
        [builders.TRAIT_USER],
        "People",
    )


def test_user_resource_carries_a_user_trait() -> None:
    parent = builders.resource_id("org", "o1")
    user = builders.user_resource(
        "user",
        "42",
        "Ada",
        email="ada@example.com",
        login="ada",
        status=builders.STATUS_DISABLED,
        profile={"dept": "math", "level": 3},
        parent=parent,
    )
    assert user.id == ResourceId(resource_type="user", resource="42")
    assert user.parent_resource_id == parent
    assert user.display_name == "Ada"
    trait = only(user.annotations, annotation_trait_pb2.UserTrait)
    assert isinstance(trait, annotation_trait_pb2.UserTrait)
    assert [(e.address, e.is_primary) for e in trait.emails] == [("ada@example.com", True)]
    assert trait.login == "ada"
    assert trait.status.status == builders.STATUS_DISABLED
    assert trait.profile == struct_pb2.Struct(
        fields={"dept": struct_pb2.Value(string_value="math"), "level": struct_pb2.Value(number_value=3)}
    )
    assert user.annotations[0].type_url == "type.googleapis.com/c1.connector.v2.UserTrait"
    bare = only(builders.user_resource("user", "1", "x").annotations, annotation_trait_pb2.UserTrait)
    assert isinstance(bare, annotation_trait_pb2.UserTrait)
    assert (list(bare.emails), bare.status.status, bare.HasField("profile")) == (
        [],
        builders.STATUS_ENABLED,
        False,
    )


def test_group_role_app_resources_and_children() -> None:
    group = builders.group_resource("group", "g", "G", children=["team", "channel"])
    only(group.annotations, annotation_trait_pb2.GroupTrait)
    children = [
        a for a in group.annotations if a.Is(annotation_resource_tree_pb2.ChildResourceType.DESCRIPTOR)
    ]
    unpacked = []
    for packed in children:
        child = annotation_resource_tree_pb2.ChildResourceType()
        packed.Unpack(child)
        unpacked.append(child.resource_type_id)
    assert unpacked == ["team", "channel"]
    only(builders.role_resource("role", "r", "R").annotations, annotation_trait_pb2.RoleTrait)
    app = builders.app_resource("app", "a", "A", help_url="https://example.com/help")
    trait = only(app.annotations, annotation_trait_pb2.AppTrait)
    assert isinstance(trait, annotation_trait_pb2.AppTrait)
    assert trait.help_url == "https://example.com/help"
    assert builders.child_resource_type("team") == children[0]


def test_entitlements_use_the_upstream_id_layout() -> None:
    group = builders.group_resource("group", "eng", "Engineering")
    member = builders.assignment_entitlement(
        group, "member", grantable_to=["user", builders.resource_type("bot", "Bot")]
    )
    assert member.id == "group:eng:member"
    assert (member.slug, member.display_name, member.description) == ("member", "member", "")
    assert member.purpose == entitlement_pb2.Entitlement.PURPOSE_VALUE_ASSIGNMENT
    assert [t.id for t in member.grantable_to] == ["user", "bot"]
    assert member.resource == group
    admin = builders.permission_entitlement(
        group, "admin", display_name="Admin", description="Can administer"
    )
    assert (admin.id, admin.display_name, admin.description) == ("group:eng:admin", "Admin", "Can administer")
    assert admin.purpose == entitlement_pb2.Entitlement.PURPOSE_VALUE_PERMISSION


def test_grant_ids_and_principals() -> None:
    group = builders.group_resource("group", "eng", "Engineering")
    member = builders.assignment_entitlement(group, "member")
    by_id = builders.grant(member, builders.resource_id("user", "u1"))
    assert by_id.id == "group:eng:member:user:u1"
    assert by_id.principal.id == ResourceId(resource_type="user", resource="u1")
    assert by_id.entitlement == member
    full_principal = builders.user_resource("user", "u1", "U1")
    assert builders.grant(member, full_principal).principal == full_principal
    assert builders.grant_id(member, full_principal) == by_id.id
    # The template-based factory builds exactly what grant() builds.
    make = builders.grant_factory(member, "user")
    assert make("u1") == by_id
    assert make("u2").id == "group:eng:member:user:u2"
    assert make("u1") is not make("u1")


def test_grant_expandable() -> None:
    packed = builders.grant_expandable(["group:eng:member"], shallow=True, resource_type_ids=["user"])
    assert packed.type_url == "type.googleapis.com/c1.connector.v2.GrantExpandable"
    value = annotation_grant_pb2.GrantExpandable()
    packed.Unpack(value)
    assert (list(value.entitlement_ids), value.shallow, list(value.resource_type_ids)) == (
        ["group:eng:member"],
        True,
        ["user"],
    )
    group = builders.group_resource("group", "eng", "Engineering")
    grant = builders.grant(
        builders.assignment_entitlement(group, "member"),
        builders.resource_id("team", "t"),
        annotations=[packed],
    )
    assert list(grant.annotations) == [packed]

"""The demo connector's generated data set, read through its syncers as a sync would."""

from __future__ import annotations

import tracemalloc
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from baton_cli.connector import builders
from baton_cli.connector.api import Resource, ResourceId
from baton_cli.connector.demo.paging import decode_token, encode_token
from baton_cli.errors import UsageError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, annotation_trait_pb2, resource_pb2

from .conftest import MakeDemo
from .helpers import items, pages, snapshot


def expected_pairs(users: int, groups: int, memberships: int, roles: int) -> set[tuple[str, str]]:
    """The spec's membership and role rules, written out independently of the demo's code."""
    per = min(memberships // groups, users) if groups else 0
    pairs = set()
    for g in range(groups):
        for k in range(per):
            pairs.add((f"group:g{g:06d}:member", f"user:u{(g * per + k) % users:07d}"))
        if roles:
            pairs.add((f"role:r{g % roles:05d}:assignment", f"group:g{g:06d}"))
    return pairs


def test_defaults_give_50_users_5_groups_3_roles_and_205_grants(make_demo: MakeDemo) -> None:
    snap = snapshot(make_demo())
    assert snap.type_ids == ["user", "group", "role"]
    assert [len(snap.resources[t]) for t in snap.type_ids] == [50, 5, 3]
    assert len(snap.entitlements) == 5 + 3
    # 40 members in each of 5 groups, plus one role grant per group.
    assert len(snap.grants) == 5 * 40 + 5
    assert len(snap.grant_ids()) == len(snap.grants), "grant ids are unique"
    assert snap.grant_pairs() == expected_pairs(50, 5, 200, 3)


@pytest.mark.parametrize(
    ("users", "groups", "memberships", "roles"),
    [(7, 3, 10, 2), (3, 2, 100, 1), (10, 4, 3, 5), (5, 0, 50, 2), (0, 3, 9, 1), (12, 6, 36, 0)],
)
def test_custom_sizes_follow_the_membership_and_role_rules(
    make_demo: MakeDemo, users: int, groups: int, memberships: int, roles: int
) -> None:
    connector = make_demo(
        f"--users={users}",
        f"--groups={groups}",
        f"--memberships={memberships}",
        f"--roles={roles}",
        "--page-size=4",
    )
    snap = snapshot(connector)
    assert snap.ids("user") == [f"u{i:07d}" for i in range(users)]
    assert snap.ids("group") == [f"g{i:06d}" for i in range(groups)]
    assert snap.ids("role") == [f"r{i:05d}" for i in range(roles)]
    assert len(snap.entitlements) == groups + roles
    pairs = snap.grant_pairs()
    assert pairs == expected_pairs(users, groups, memberships, roles)
    assert len(snap.grants) == len(pairs)


def test_small_example_spelled_out(make_demo: MakeDemo) -> None:
    snap = snapshot(make_demo("--users=7", "--groups=3", "--memberships=10", "--roles=2"))
    members = {g: sorted(p for e, p in snap.grant_pairs() if e == f"group:g{g:06d}:member") for g in range(3)}
    assert members[0] == ["user:u0000000", "user:u0000001", "user:u0000002"]
    assert members[1] == ["user:u0000003", "user:u0000004", "user:u0000005"]
    assert members[2] == ["user:u0000000", "user:u0000001", "user:u0000006"]  # wraps around
    role_holders = sorted(p for e, p in snap.grant_pairs() if e.startswith("role:r00000:"))
    assert role_holders == ["group:g000000", "group:g000002"]


def test_zero_roles_leaves_users_groups_and_memberships_only(make_demo: MakeDemo) -> None:
    snap = snapshot(make_demo("--roles=0"))
    assert snap.type_ids == ["user", "group", "role"]  # the type stays listed
    assert snap.resources["role"] == []
    assert all(g.entitlement.id.startswith("group:") for g in snap.grants)
    assert len(snap.grants) == 5 * 40


def unpack(resource: Resource, message: Any) -> Any:
    found = [a for a in resource.annotations if a.Is(message.DESCRIPTOR)]
    assert len(found) == 1, f"expected one {message.__name__}"
    value = message()
    found[0].Unpack(value)
    return value


def test_exact_user_group_role_and_entitlement_shapes(make_demo: MakeDemo) -> None:
    snap = snapshot(make_demo())
    user = snap.resources["user"][7]
    assert (user.id.resource_type, user.id.resource, user.display_name) == ("user", "u0000007", "User 7")
    trait = unpack(user, annotation_trait_pb2.UserTrait)
    assert isinstance(trait, annotation_trait_pb2.UserTrait)
    assert [(e.address, e.is_primary) for e in trait.emails] == [("user7@example.com", True)]
    assert trait.login == "user7"
    assert trait.status.status == annotation_trait_pb2.UserTrait.Status.STATUS_ENABLED

    group = snap.resources["group"][3]
    assert (group.id.resource, group.display_name) == ("g000003", "Group 3")
    unpack(group, annotation_trait_pb2.GroupTrait)
    role = snap.resources["role"][2]
    assert (role.id.resource, role.display_name) == ("r00002", "Role 2")
    unpack(role, annotation_trait_pb2.RoleTrait)

    by_id = {e.id: e for e in snap.entitlements}
    member = by_id["group:g000003:member"]
    assert member.slug == "member"
    assert member.purpose == builders.PURPOSE_ASSIGNMENT
    assert member.display_name == "Group 3 Member"
    assert member.description == "Member of Group 3"
    assert [t.id for t in member.grantable_to] == ["user"]
    assert member.resource.id == group.id
    assignment = by_id["role:r00002:assignment"]
    assert assignment.slug == "assignment"
    assert sorted(t.id for t in assignment.grantable_to) == ["group", "user"]

    first_member = next(g for g in snap.grants if g.entitlement.id == "group:g000003:member")
    # per = 40, so group 3 starts at user 120 % 50 = 20.
    assert first_member.id == "group:g000003:member:user:u0000020"
    assert first_member.principal.id == ResourceId(resource_type="user", resource="u0000020")
    assert first_member.entitlement.resource.id == group.id


def test_resource_types_declare_the_matching_traits(make_demo: MakeDemo) -> None:
    traits = {s.resource_type.id: list(s.resource_type.traits) for s in make_demo().resource_syncers()}
    assert traits == {
        "user": [resource_pb2.ResourceType.TRAIT_USER],
        "group": [resource_pb2.ResourceType.TRAIT_GROUP],
        "role": [resource_pb2.ResourceType.TRAIT_ROLE],
    }


def test_role_grants_to_groups_are_expandable_by_the_group_members(make_demo: MakeDemo) -> None:
    snap = snapshot(make_demo())
    role_grants = [g for g in snap.grants if g.entitlement.id.startswith("role:")]
    assert len(role_grants) == 5
    for grant in role_grants:
        assert grant.principal.id.resource_type == "group"
        packed = [a for a in grant.annotations if a.Is(annotation_grant_pb2.GrantExpandable.DESCRIPTOR)]
        assert len(packed) == 1
        expandable = annotation_grant_pb2.GrantExpandable()
        packed[0].Unpack(expandable)
        assert list(expandable.entitlement_ids) == [f"group:{grant.principal.id.resource}:member"]
        assert not expandable.shallow
        assert list(expandable.resource_type_ids) == []
    membership = next(g for g in snap.grants if g.entitlement.id.startswith("group:"))
    assert list(membership.annotations) == []


def test_small_pages_give_the_same_items_as_one_big_page(make_demo: MakeDemo) -> None:
    small = snapshot(make_demo("--page-size=7"))
    big = snapshot(make_demo("--page-size=1000"))
    for type_id in ("user", "group", "role"):
        assert [r.SerializeToString() for r in small.resources[type_id]] == [
            r.SerializeToString() for r in big.resources[type_id]
        ]
    assert [e.SerializeToString() for e in small.entitlements] == [
        e.SerializeToString() for e in big.entitlements
    ]
    assert [g.SerializeToString() for g in small.grants] == [g.SerializeToString() for g in big.grants]


def test_pages_hold_at_most_page_size_items(make_demo: MakeDemo) -> None:
    connector = make_demo("--page-size=7")
    users = connector.resource_syncers()[0]
    found = pages(lambda token: users.list(None, token))
    assert [len(p.items) for p in found] == [7] * 7 + [1]
    group_syncer = connector.resource_syncers()[1]
    group = group_syncer.list(None, "").items[0]
    grant_pages = pages(lambda token: group_syncer.grants(group, token))
    assert [len(p.items) for p in grant_pages] == [7] * 5 + [5]


def test_page_tokens_are_opaque_and_bad_ones_are_rejected(make_demo: MakeDemo) -> None:
    users = make_demo("--page-size=10").resource_syncers()[0]
    token = users.list(None, "").next_token
    assert token and token != "10"
    assert decode_token(encode_token(12345)) == 12345
    for bad in ("10", "not base64!", encode_token(3)[:-1] + "%", "b2FiYw=="):
        with pytest.raises(UsageError, match="invalid page token"):
            users.list(None, bad)


def test_children_of_any_parent_are_empty(make_demo: MakeDemo) -> None:
    for syncer in make_demo().resource_syncers():
        parent = ResourceId(resource_type="group", resource="g000000")
        assert items(partial(syncer.list, parent)) == []


def test_users_have_no_entitlements_or_grants(make_demo: MakeDemo) -> None:
    users = make_demo().resource_syncers()[0]
    user = users.list(None, "").items[0]
    assert items(lambda token: users.entitlements(user, token)) == []
    assert items(lambda token: users.grants(user, token)) == []


def test_unknown_resources_have_no_entitlements_or_grants(make_demo: MakeDemo) -> None:
    groups = make_demo().resource_syncers()[1]
    for ghost in ("g000099", "nonsense", "g00000001"):
        resource = Resource(id=ResourceId(resource_type="group", resource=ghost))
        assert items(partial(groups.entitlements, resource)) == []
        assert items(partial(groups.grants, resource)) == []


def test_listings_are_lazy_for_huge_sizes(make_demo: MakeDemo) -> None:
    connector = make_demo("--users=10000000", "--groups=2", "--memberships=20000000")  # the maxima
    users, groups, _ = connector.resource_syncers()
    tracemalloc.start()
    first_users = users.list(None, "")
    group = groups.list(None, "").items[1]
    first_grants = groups.grants(group, "")
    later_grants = groups.grants(group, encode_token(9_999_900))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Memory, not time, tells laziness apart: ten million of anything would take gigabytes.
    assert peak < 20 * 1024 * 1024, f"the first pages allocated {peak:,} bytes"
    assert len(first_users.items) == 100 and first_users.next_token
    # per = 10**7, so group 1 starts at user (1 * 10**7) % 10**7 = 0 and ends at 9999999.
    assert [g.principal.id.resource for g in first_grants.items[:2]] == ["u0000000", "u0000001"]
    assert later_grants.items[-1].principal.id.resource == "u9999999"
    assert later_grants.next_token == ""


def test_demo_get_fetches_one_resource_for_targeted_syncs() -> None:
    from baton_cli.connector.api import ResourceGetter, ResourceId
    from baton_cli.connector.config import resolve_config
    from baton_cli.connector.demo import plugin

    connector = plugin.factory(resolve_config(plugin.fields, ["--users", "5"], {}, None, cwd=Path.cwd()))
    syncers = {s.resource_type.id: s for s in connector.resource_syncers()}
    users = syncers["user"]
    assert isinstance(users, ResourceGetter)
    alice = users.get(ResourceId(resource_type="user", resource="u0000003"), None)
    assert alice is not None and alice.display_name == "User 3"
    assert users.get(ResourceId(resource_type="user", resource="u0000005"), None) is None  # beyond users=5
    assert users.get(ResourceId(resource_type="group", resource="g000000"), None) is None
    group = syncers["group"].get(ResourceId(resource_type="group", resource="g000001"), None)  # type: ignore[attr-defined]
    assert group is not None and group.display_name == "Group 1"

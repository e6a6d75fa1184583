"""Provisioning against the demo: changes go to the state file and show up in later syncs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from baton_cli.connector.api import AccountRequest, Connector, Entitlement, Grant, Resource, ResourceId
from baton_cli.connector.demo.syncers import GroupSyncer, RoleSyncer, UserSyncer
from baton_cli.errors import ConnectorError, FailedPreconditionError, NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2

from .conftest import MakeDemo
from .helpers import snapshot


def syncers(connector: Connector) -> tuple[UserSyncer, GroupSyncer, RoleSyncer]:
    users, groups, roles = connector.resource_syncers()
    assert isinstance(users, UserSyncer) and isinstance(groups, GroupSyncer) and isinstance(roles, RoleSyncer)
    return users, groups, roles


def rid(type_id: str, id_: str) -> ResourceId:
    return ResourceId(resource_type=type_id, resource=id_)


def principal(type_id: str, id_: str) -> Resource:
    return Resource(id=rid(type_id, id_))


def entitlement(ent_id: str) -> Entitlement:
    return Entitlement(id=ent_id)


MEMBER_0 = "group:g000000:member"  # defaults: members are u0000000..u0000039
ROLE_0 = "role:r00000:assignment"  # held by groups 0 and 3


def test_provisioning_without_a_state_file_is_a_failed_precondition(make_demo: MakeDemo) -> None:
    users, groups, roles = syncers(make_demo())
    calls: list[Callable[[], object]] = [
        lambda: groups.grant(principal("user", "u0000045"), entitlement(MEMBER_0)),
        lambda: groups.revoke(Grant(id=f"{MEMBER_0}:user:u0000001")),
        lambda: roles.grant(principal("user", "u0000001"), entitlement(ROLE_0)),
        lambda: users.create_account(AccountRequest(login="new")),
        lambda: users.delete(rid("user", "u0000001"), None),
        lambda: groups.delete(rid("group", "g000001"), None),
        lambda: users.rotate_credentials(rid("user", "u0000001")),
    ]
    for call in calls:
        with pytest.raises(FailedPreconditionError, match=r"^demo: set --state-file to provision$"):
            call()


def test_grant_is_seen_by_the_next_sync_and_by_a_new_process(make_demo: MakeDemo, state_file: Path) -> None:
    connector = make_demo(state=True)
    _, groups, _ = syncers(connector)
    pair = (MEMBER_0, "user:u0000045")
    assert pair not in snapshot(connector).grant_pairs()
    granted = groups.grant(principal("user", "u0000045"), entitlement(MEMBER_0))
    assert [g.id for g in granted] == [f"{MEMBER_0}:user:u0000045"]
    assert pair in snapshot(connector).grant_pairs()
    assert pair in snapshot(make_demo(state=True)).grant_pairs()
    assert json.loads(state_file.read_text())["granted"] == [
        {"entitlement": MEMBER_0, "principal_type": "user", "principal_id": "u0000045"}
    ]
    # Granting again changes nothing.
    groups.grant(principal("user", "u0000045"), entitlement(MEMBER_0))
    assert len(snapshot(connector).grants) == 205 + 1


def test_granting_an_existing_generated_grant_adds_no_duplicate(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    _, groups, _ = syncers(connector)
    groups.grant(principal("user", "u0000001"), entitlement(MEMBER_0))
    snap = snapshot(connector)
    assert len(snap.grants) == 205
    assert len(snap.grant_ids()) == 205


def test_revoke_removes_generated_and_added_grants(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    _, groups, _ = syncers(connector)
    generated = f"{MEMBER_0}:user:u0000001"
    groups.revoke(
        Grant(id=generated, entitlement=entitlement(MEMBER_0), principal=principal("user", "u0000001"))
    )
    assert generated not in snapshot(make_demo(state=True)).grant_ids()
    # Re-granting a revoked generated grant restores it exactly once.
    groups.grant(principal("user", "u0000001"), entitlement(MEMBER_0))
    assert sorted(snapshot(connector).grant_ids()).count(generated) == 1

    added = groups.grant(principal("user", "u0000049"), entitlement(MEMBER_0))[0]
    assert added.id in snapshot(connector).grant_ids()
    groups.revoke(added)
    assert added.id not in snapshot(connector).grant_ids()
    assert len(snapshot(connector).grants) == 205


def test_revoke_works_from_the_grant_id_alone_and_is_idempotent(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    _, groups, _ = syncers(connector)
    grant_id = f"{MEMBER_0}:user:u0000002"
    groups.revoke(Grant(id=grant_id))
    groups.revoke(Grant(id=grant_id))
    groups.revoke(Grant(id=f"{MEMBER_0}:user:u0000048"))  # never existed: nothing to do
    snap = snapshot(connector)
    assert grant_id not in snap.grant_ids()
    assert len(snap.grants) == 204


def test_role_grant_to_a_group_is_expandable_and_to_a_user_is_not(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    _, _, roles = syncers(connector)
    to_group = roles.grant(principal("group", "g000001"), entitlement(ROLE_0))[0]
    to_user = roles.grant(principal("user", "u0000007"), entitlement(ROLE_0))[0]
    listed = {g.id: g for g in snapshot(connector).grants}
    for returned in (to_group, to_user):
        assert listed[returned.id].SerializeToString() == returned.SerializeToString()
    expandable = annotation_grant_pb2.GrantExpandable()
    assert to_group.annotations[0].Unpack(expandable)
    assert list(expandable.entitlement_ids) == ["group:g000001:member"]
    assert list(to_user.annotations) == []


def test_grant_errors_name_the_problem(make_demo: MakeDemo) -> None:
    _, groups, roles = syncers(make_demo(state=True))
    with pytest.raises(
        UsageError, match="'group:g000000:member' can only be granted to a user, not a 'group'"
    ):
        groups.grant(principal("group", "g000001"), entitlement(MEMBER_0))
    with pytest.raises(UsageError, match="to a user or group, not a 'role'"):
        roles.grant(principal("role", "r00001"), entitlement(ROLE_0))
    with pytest.raises(NotFoundError, match="user 'u0000050' does not exist"):
        groups.grant(principal("user", "u0000050"), entitlement(MEMBER_0))
    with pytest.raises(NotFoundError, match="group 'g000005' does not exist"):
        groups.grant(principal("user", "u0000001"), entitlement("group:g000005:member"))
    with pytest.raises(NotFoundError, match="no group entitlement 'role:r00000:assignment'"):
        groups.grant(principal("user", "u0000001"), entitlement(ROLE_0))
    with pytest.raises(NotFoundError, match="no role entitlement 'role:r00000:admin'"):
        roles.grant(principal("user", "u0000001"), entitlement("role:r00000:admin"))


def test_delete_user_removes_it_and_all_its_grants(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    users, _, roles = syncers(connector)
    roles.grant(principal("user", "u0000003"), entitlement(ROLE_0))
    before = snapshot(connector)
    mentioning = {g for g in before.grant_ids() if g.endswith(":user:u0000003")}
    assert len(mentioning) == 5  # a member of groups 0-3 (40 of 50 users each, wrapping) + the role
    users.delete(rid("user", "u0000003"), None)
    after = snapshot(make_demo(state=True))
    assert "u0000003" not in after.ids("user")
    assert len(after.ids("user")) == 49
    assert after.grant_ids() == before.grant_ids() - mentioning
    with pytest.raises(NotFoundError, match="user 'u0000003' does not exist"):
        users.delete(rid("user", "u0000003"), None)


def test_delete_group_and_role(make_demo: MakeDemo) -> None:
    connector = make_demo(state=True)
    _, groups, roles = syncers(connector)
    groups.delete(rid("group", "g000003"), None)
    roles.delete(rid("role", "r00001"), None)
    snap = snapshot(connector)
    assert snap.ids("group") == ["g000000", "g000001", "g000002", "g000004"]
    assert snap.ids("role") == ["r00000", "r00002"]
    assert not any("g000003" in g or "r00001" in g for g in snap.grant_ids())
    # Left: 4 groups of 40 members; r00000 keeps g000000 (not g000003), r00002 keeps g000002.
    assert len(snap.grants) == 4 * 40 + 2
    with pytest.raises(UsageError, match="'user' is not a group resource"):
        groups.delete(rid("user", "u0000001"), None)
    with pytest.raises(NotFoundError, match="role 'r00009' does not exist"):
        roles.delete(rid("role", "r00009"), None)


def test_create_account_adds_a_user_with_the_next_id(make_demo: MakeDemo, state_file: Path) -> None:
    connector = make_demo(state=True)
    users, groups, _ = syncers(connector)
    result = users.create_account(AccountRequest(login="ada", email="ada@example.com"))
    assert not result.already_existed
    assert result.resource.id.resource == "u0000050"
    [credential] = result.credentials
    assert credential.name == "password" and len(credential.bytes_) == 20
    assert credential.bytes_.decode() not in repr(credential)
    assert credential.bytes_.decode() not in state_file.read_text()

    listed = snapshot(make_demo(state=True)).resources["user"]
    assert [r.id.resource for r in listed][-1] == "u0000050"
    assert listed[-1].SerializeToString() == result.resource.SerializeToString()

    second = users.create_account(AccountRequest(login="grace", profile={"display_name": "Grace H"}))
    assert (second.resource.id.resource, second.resource.display_name) == ("u0000051", "Grace H")
    again = users.create_account(AccountRequest(login="ada"))
    assert again.already_existed and again.credentials == () and again.resource.id.resource == "u0000050"
    existing = users.create_account(AccountRequest(login="user7"))
    assert existing.already_existed and existing.resource.id.resource == "u0000007"

    # A created user can be granted, and deleting it takes its grants along.
    groups.grant(principal("user", "u0000050"), entitlement(MEMBER_0))
    assert (MEMBER_0, "user:u0000050") in snapshot(connector).grant_pairs()
    users.delete(rid("user", "u0000050"), None)
    snap = snapshot(connector)
    assert "u0000050" not in snap.ids("user")
    assert (MEMBER_0, "user:u0000050") not in snap.grant_pairs()
    # Ids are never reused.
    assert users.create_account(AccountRequest(login="linus")).resource.id.resource == "u0000052"


def test_create_account_needs_a_login(make_demo: MakeDemo) -> None:
    users, _, _ = syncers(make_demo(state=True))
    with pytest.raises(UsageError, match="needs a login"):
        users.create_account(AccountRequest(login=""))


def test_rotate_credentials_returns_a_fresh_password(make_demo: MakeDemo) -> None:
    users, _, _ = syncers(make_demo(state=True))
    first = users.rotate_credentials(rid("user", "u0000001"))
    second = users.rotate_credentials(rid("user", "u0000001"))
    assert len(first) == len(second) == 1
    assert first[0].bytes_ != second[0].bytes_
    with pytest.raises(NotFoundError, match="user 'u0000099' does not exist"):
        users.rotate_credentials(rid("user", "u0000099"))


def test_state_file_is_written_atomically_and_leaves_no_temp_files(
    make_demo: MakeDemo, state_file: Path
) -> None:
    _, groups, _ = syncers(make_demo(state=True))
    for n in range(40, 45):
        groups.grant(principal("user", f"u{n:07d}"), entitlement(MEMBER_0))
    assert [p.name for p in state_file.parent.iterdir()] == [state_file.name]
    assert len(json.loads(state_file.read_text())["granted"]) == 5


def test_state_file_made_for_other_sizes_is_refused(make_demo: MakeDemo) -> None:
    _, groups, _ = syncers(make_demo(state=True))
    groups.grant(principal("user", "u0000045"), entitlement(MEMBER_0))
    other = make_demo("--users=60", state=True)
    with pytest.raises(
        FailedPreconditionError, match="was made for groups=5, memberships=200, roles=3, users=50"
    ):
        other.validate()
    # page-size is not part of the data set.
    make_demo("--page-size=3", state=True).validate()


def test_corrupt_state_file_is_a_connector_error(make_demo: MakeDemo, state_file: Path) -> None:
    state_file.write_text("{not json")
    with pytest.raises(ConnectorError, match=r"state file .* is unreadable"):
        make_demo(state=True).validate()
    state_file.write_text(json.dumps({"version": 1, "granted": [{"entitlement": 3}]}))
    with pytest.raises(ConnectorError, match="'granted' must be a list of objects"):
        make_demo(state=True).validate()


def test_changes_by_another_process_are_picked_up(make_demo: MakeDemo) -> None:
    reader = make_demo(state=True)
    assert len(snapshot(reader).grants) == 205
    _, groups, _ = syncers(make_demo(state=True))
    groups.grant(principal("user", "u0000045"), entitlement(MEMBER_0))
    assert len(snapshot(reader).grants) == 206

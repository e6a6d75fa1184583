"""Provisioning against a real slapd, checked by reading the directory itself (or binding)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from baton_cli.connector import AccountRequest, FailedPreconditionError, builders
from baton_cli.connector.config import resolve_config
from baton_cli.plugins.ldap import plugin
from baton_cli.plugins.ldap.connector import LdapConnector
from baton_cli.testing.kit import config_argv
from tests.ldap.seed import group_dn, user_dn
from tests.ldap.slapd import ADMIN_DN, ADMIN_PASSWORD, Slapd


@pytest.fixture
def connector(slapd: Slapd, tmp_path: Path) -> Iterator[LdapConnector]:
    config = resolve_config(
        plugin.fields, config_argv(slapd.config(**{"page-size": 2})), {}, None, cwd=tmp_path
    )
    built = plugin.factory(config)
    assert isinstance(built, LdapConnector)
    yield built
    built.client.close()


def attribute(slapd: Slapd, dn: str, name: str) -> list[str]:
    conn = ldap3.Connection(ldap3.Server(slapd.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    try:
        conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[name])
        return [str(v) for v in conn.entries[0][name].values] if conn.entries else []
    finally:
        conn.unbind()


def can_bind(slapd: Slapd, dn: str, password: str) -> bool:
    conn = ldap3.Connection(ldap3.Server(slapd.url), dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def syncers(connector: LdapConnector) -> dict[str, object]:
    return {s.resource_type.id: s for s in connector.resource_syncers()}


def member_entitlement(group: str) -> builders.Entitlement:
    resource = builders.group_resource("group", group_dn(group), group)
    return builders.assignment_entitlement(resource, "member", grantable_to=["user"])


def test_grant_and_revoke_edit_member_uniquemember_and_memberuid(
    connector: LdapConnector, slapd: Slapd
) -> None:
    groups = syncers(connector)["group"]
    erin = builders.user_resource("user", user_dn("erin"), "Erin")
    for group, attr, value in (
        ("engineers", "member", user_dn("erin")),
        ("ops", "uniqueMember", user_dn("erin")),
        ("posix-devs", "memberUid", "erin"),
    ):
        granted = groups.grant(erin, member_entitlement(group))  # type: ignore[attr-defined]
        assert [g.id for g in granted] == [f"group:{group_dn(group)}:member:user:{user_dn('erin')}"]
        assert value in attribute(slapd, group_dn(group), attr)
        groups.grant(erin, member_entitlement(group))  # type: ignore[attr-defined]  # idempotent
        groups.revoke(granted[0])  # type: ignore[attr-defined]
        assert value not in attribute(slapd, group_dn(group), attr)
        groups.revoke(granted[0])  # type: ignore[attr-defined]  # idempotent


def test_revoking_a_groupofnames_last_member_is_refused(connector: LdapConnector) -> None:
    groups = syncers(connector)["group"]
    carol = builders.grant(member_entitlement("seniors"), builders.resource_id("user", user_dn("carol")))
    with pytest.raises(FailedPreconditionError, match="last member"):
        groups.revoke(carol)  # type: ignore[attr-defined]


def test_create_rotate_delete_an_account(connector: LdapConnector, slapd: Slapd) -> None:
    users = syncers(connector)["user"]
    groups = syncers(connector)["group"]
    result = users.create_account(AccountRequest(login="frank", email="frank@example.org"))  # type: ignore[attr-defined]
    dn = user_dn("frank")
    assert result.resource.id.resource == dn and not result.already_existed
    (password,) = result.credentials
    assert can_bind(slapd, dn, password.bytes_.decode())
    assert "frank@example.org" in attribute(slapd, dn, "mail")
    again = users.create_account(AccountRequest(login="frank"))  # type: ignore[attr-defined]
    assert again.already_existed and not again.credentials

    (rotated,) = users.rotate_credentials(result.resource.id)  # type: ignore[attr-defined]
    assert rotated.bytes_ != password.bytes_
    assert can_bind(slapd, dn, rotated.bytes_.decode())
    assert not can_bind(slapd, dn, password.bytes_.decode())

    frank = result.resource
    groups.grant(frank, member_entitlement("engineers"))  # type: ignore[attr-defined]
    groups.grant(frank, member_entitlement("posix-devs"))  # type: ignore[attr-defined]
    users.delete(frank.id, None)  # type: ignore[attr-defined]
    assert attribute(slapd, dn, "uid") == []
    # Its memberships went with it: no dangling member values.
    assert dn not in attribute(slapd, group_dn("engineers"), "member")
    assert "frank" not in attribute(slapd, group_dn("posix-devs"), "memberUid")
    users.delete(frank.id, None)  # type: ignore[attr-defined]  # idempotent


def test_a_login_that_cannot_be_a_uid_is_invalid(connector: LdapConnector) -> None:
    from baton_cli.connector import InvalidArgumentError

    users = syncers(connector)["user"]
    with pytest.raises(InvalidArgumentError, match="cannot be a uid"):
        users.create_account(AccountRequest(login="a,b"))  # type: ignore[attr-defined]


def test_a_listing_pages_with_the_paged_results_control(connector: LdapConnector) -> None:
    users = syncers(connector)["user"]
    first = users.list(None, "")  # type: ignore[attr-defined]
    assert len(first.items) == 2 and first.next_token
    second = users.list(None, first.next_token)  # type: ignore[attr-defined]
    assert {r.id.resource for r in second.items}.isdisjoint({r.id.resource for r in first.items})


def test_targeted_get_reads_one_entry_or_none(connector: LdapConnector) -> None:
    users, groups = syncers(connector)["user"], syncers(connector)["group"]
    alice = users.get(builders.resource_id("user", user_dn("alice")), None)  # type: ignore[attr-defined]
    assert (
        alice is not None and alice.id.resource == user_dn("alice") and alice.display_name == "Alice Archer"
    )
    assert users.get(builders.resource_id("user", user_dn("nobody")), None) is None  # type: ignore[attr-defined]
    ops = groups.get(builders.resource_id("group", group_dn("ops")), None)  # type: ignore[attr-defined]
    assert ops is not None and ops.display_name == "ops"
    # A user's DN is not a group.
    assert groups.get(builders.resource_id("group", user_dn("alice")), None) is None  # type: ignore[attr-defined]

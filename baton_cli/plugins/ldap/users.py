"""The ``user`` resource type: inetOrgPerson and posixAccount entries, ids are their DNs."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from baton_cli.connector import (
    AccountRequest,
    AccountResult,
    AlreadyExistsError,
    Credential,
    Entitlement,
    Grant,
    InvalidArgumentError,
    Page,
    Resource,
    ResourceId,
    builders,
    logger,
)
from baton_cli.pb.c1.connector.v2 import annotation_resource_tree_pb2
from baton_cli.plugins.ldap.client import NO_SUCH_ATTRIBUTE, Entry
from baton_cli.plugins.ldap.directory import MEMBER_ATTRIBUTES, USER_FILTER, Directory, escape_filter_value
from baton_cli.plugins.ldap.dn import canonical_dn, first_rdn_value, is_under

USER_ATTRIBUTES = ("uid", "cn", "sn", "givenName", "displayName", "mail", "uidNumber", "description")
PASSWORD_BYTES = 24

log = logger("ldap")

USER = builders.resource_type(
    "user",
    "User",
    traits=[builders.TRAIT_USER],
    # Users hold no entitlements of their own: memberships are listed on the groups.
    annotations=[builders.pack(annotation_resource_tree_pb2.SkipEntitlementsAndGrants())],
)


def user_resource(entry: Entry) -> Resource:
    uid = entry.first("uid")
    name = entry.first("displayName") or entry.first("cn") or uid or entry.dn
    profile: dict[str, object] = {
        "first_name": entry.first("givenName"),
        "last_name": entry.first("sn"),
        "login": uid,
        "dn": entry.dn,
    }
    if entry.first("uidNumber"):
        profile["uid_number"] = entry.first("uidNumber")
    return builders.user_resource(
        "user",
        canonical_dn(entry.dn),
        name,
        email=entry.first("mail"),
        login=uid,
        profile=profile,
    )


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


class UserSyncer:
    resource_type = USER

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is not None:
            return Page([])
        entries, token = self.directory.client.search_page(
            self.directory.user_search_dn, USER_FILTER, USER_ATTRIBUTES, page_token
        )
        for entry in entries:
            self.directory.saw(entry.dn, "user")
            self.directory.remember_uid(entry.first("uid"), entry.dn)
        return Page([user_resource(e) for e in entries], token)

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        entry = self.directory.client.read(resource_id.resource, USER_ATTRIBUTES, USER_FILTER)
        return user_resource(entry) if entry is not None else None

    # -- provisioning --------------------------------------------------------------------

    def create_account(self, request: AccountRequest) -> AccountResult:
        """An inetOrgPerson ``uid=LOGIN`` under the user search DN, with a random password."""
        login = request.login.strip()
        if not login or any(c in login for c in ',=+<>#;\\"') or login != request.login:
            raise InvalidArgumentError(
                f"ldap: login {request.login!r} cannot be a uid (no spaces, commas, =, +)"
            )
        dn = f"uid={login},{self.directory.user_search_dn}"
        profile = request.profile
        display = str(profile.get("display_name") or profile.get("name") or login)
        attributes: dict[str, object] = {
            "uid": login,
            "cn": display,
            "sn": str(profile.get("last_name") or login),
        }
        if profile.get("first_name"):
            attributes["givenName"] = str(profile["first_name"])
        if request.email:
            attributes["mail"] = request.email
        try:
            self.directory.client.add(dn, ["top", "inetOrgPerson"], attributes)
        except AlreadyExistsError:
            existing = self.directory.client.read(dn, USER_ATTRIBUTES)
            if existing is None:
                raise
            return AccountResult(resource=user_resource(existing), already_existed=True)
        password = new_password()
        self.directory.client.set_password(dn, password)
        created = self.directory.client.read(dn, USER_ATTRIBUTES)
        if created is None:
            raise InvalidArgumentError(f"ldap: created {dn!r} but cannot read it back")
        self.directory.saw(dn, "user")
        self.directory.remember_uid(login, dn)
        log.info("created account %s", dn)
        return AccountResult(
            resource=user_resource(created),
            credentials=[Credential(name="password", bytes_=password.encode(), description="LDAP password")],
        )

    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None:
        """Delete the entry and its memberships (no referential-integrity overlay is assumed)."""
        dn = resource_id.resource
        entry = self.directory.client.read(dn, ["uid"])
        if entry is None:
            return  # already gone: deleting is idempotent, as upstream's
        self._leave_groups(dn, entry.first("uid") or first_rdn_value(dn))
        self.directory.client.delete(dn)
        self.directory.forget(dn)
        log.info("deleted %s", dn)

    def _leave_groups(self, dn: str, uid: str) -> None:
        value = escape_filter_value(dn)
        member_filter = f"(|(member={value})(uniqueMember={value})(memberUid={escape_filter_value(uid)}))"
        for group in self.directory.client.search_all(
            self.directory.group_search_dn, member_filter, MEMBER_ATTRIBUTES
        ):
            for attribute in MEMBER_ATTRIBUTES:
                values = [
                    v
                    for v in group.values(attribute)
                    if (attribute == "memberUid" and v == uid)
                    or (attribute != "memberUid" and canonical_dn(v).lower() == canonical_dn(dn).lower())
                ]
                if values:
                    self.directory.client.modify(
                        group.dn, {attribute: [("MODIFY_DELETE", values)]}, tolerate=(NO_SUCH_ATTRIBUTE,)
                    )

    def rotate_credentials(self, resource_id: ResourceId) -> Sequence[Credential]:
        dn = resource_id.resource
        if not is_under(dn, self.directory.base_dn):
            raise InvalidArgumentError(f"ldap: {dn!r} is not under the base DN {self.directory.base_dn!r}")
        password = new_password()
        self.directory.client.set_password(dn, password)
        log.info("rotated the password of %s", dn)
        return [Credential(name="password", bytes_=password.encode(), description="LDAP password")]

"""The ``group`` resource type: groupOfNames, groupOfUniqueNames and posixGroup entries.

Ids, the ``member`` entitlement and grant ids follow upstream's baton-ldap:
resource id = the group's DN, entitlement ``group:<dn>:member``, grant
``group:<dn>:member:user:<user dn>``. A nested group is a grant to principal
``group:<child dn>`` carrying GrantExpandable of ``group:<child dn>:member``, so
the sync's expansion gives the child's members the parent's membership.
"""

from __future__ import annotations

from collections.abc import Sequence

from baton_cli.connector import (
    Entitlement,
    FailedPreconditionError,
    Grant,
    InvalidArgumentError,
    NotFoundError,
    Page,
    Resource,
    ResourceId,
    builders,
    logger,
)
from baton_cli.plugins.ldap.client import NO_SUCH_ATTRIBUTE, VALUE_EXISTS, Entry
from baton_cli.plugins.ldap.directory import GROUP_FILTER, MEMBER_ATTRIBUTES, Directory
from baton_cli.plugins.ldap.dn import canonical_dn, first_rdn_value, is_dn

MEMBER = "member"
GROUP_ATTRIBUTES = ("cn", "description", "gidNumber", "objectClass")

log = logger("ldap")

GROUP = builders.resource_type("group", "Group", traits=[builders.TRAIT_GROUP])


def group_resource(entry: Entry) -> Resource:
    profile: dict[str, object] = {"group_description": entry.first("description")}
    if entry.first("gidNumber"):
        profile["gid"] = entry.first("gidNumber")
    name = entry.first("cn") or entry.dn
    return builders.group_resource("group", canonical_dn(entry.dn), name, profile=profile)


def member_entitlement_id(group_dn: str) -> str:
    return f"group:{group_dn}:{MEMBER}"


class GroupSyncer:
    resource_type = GROUP

    def __init__(self, directory: Directory, page_size: int) -> None:
        self.directory = directory
        self.page_size = page_size

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is not None:
            return Page([])
        entries, token = self.directory.client.search_page(
            self.directory.group_search_dn, GROUP_FILTER, GROUP_ATTRIBUTES, page_token
        )
        for entry in entries:
            self.directory.saw(entry.dn, "group")
        return Page([group_resource(e) for e in entries], token)

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        entry = self.directory.client.read(resource_id.resource, GROUP_ATTRIBUTES, GROUP_FILTER)
        return group_resource(entry) if entry is not None else None

    def _member_entitlement(self, resource: Resource) -> Entitlement:
        return builders.assignment_entitlement(
            resource,
            MEMBER,
            display_name=f"{resource.display_name} Group {MEMBER}",
            description=f"Access to {resource.display_name} group in LDAP",
            grantable_to=["user"],
        )

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([self._member_entitlement(resource)])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        """The group's members, ``page_size`` values at a time (the token is the offset)."""
        entry = self.directory.client.read(resource.id.resource, MEMBER_ATTRIBUTES, GROUP_FILTER)
        if entry is None:
            raise NotFoundError(f"ldap: group {resource.id.resource!r} no longer exists")
        values = [(a, v) for a in MEMBER_ATTRIBUTES for v in entry.values(a)]
        start = int(page_token or 0)
        chunk = values[start : start + self.page_size]
        # A slim entitlement (id and resource id) in every grant, as upstream's.
        slim = Entitlement(id=member_entitlement_id(resource.id.resource), resource=Resource(id=resource.id))
        grants: list[Grant] = []
        for attribute, value in chunk:
            grant = self._grant(slim, attribute, value)
            if grant is not None:
                grants.append(grant)
        end = start + len(chunk)
        return Page(grants, str(end) if end < len(values) else "")

    def _grant(self, slim: Entitlement, attribute: str, value: str) -> Grant | None:
        if attribute == "memberUid" or not is_dn(value):
            dn = self.directory.user_dn_for_uid(value)
            if not dn:
                log.warning("group %s: member %r matches no user; skipped", slim.resource.id.resource, value)
                return None
            return builders.grant(slim, builders.resource_id("user", dn))
        dn = canonical_dn(value)
        kind = self.directory.kind_of(dn)
        if kind == "group":
            return builders.grant(
                slim,
                builders.resource_id("group", dn),
                annotations=[builders.grant_expandable([member_entitlement_id(dn)])],
            )
        if kind == "user":
            return builders.grant(slim, builders.resource_id("user", dn))
        log.warning(
            "group %s: member %r is neither a listed user nor a group; skipped",
            slim.resource.id.resource,
            value,
        )
        return None

    # -- provisioning --------------------------------------------------------------------

    def _target(self, group_dn: str, principal: ResourceId) -> tuple[str, str]:
        """(attribute, value) that makes ``principal`` a direct member of the group."""
        group = self.directory.client.read(group_dn, ["objectClass", *MEMBER_ATTRIBUTES], GROUP_FILTER)
        if group is None:
            raise NotFoundError(f"ldap: group {group_dn!r} does not exist")
        classes = group.object_classes()
        if "groupofnames" in classes:
            return "member", principal.resource
        if "groupofuniquenames" in classes:
            return "uniqueMember", principal.resource
        if principal.resource_type != "user":
            raise InvalidArgumentError(f"ldap: posixGroup {group_dn!r} can only hold users, not groups")
        user = self.directory.client.read(principal.resource, ["uid"])
        if user is None:
            raise NotFoundError(f"ldap: user {principal.resource!r} does not exist")
        return "memberUid", user.first("uid") or first_rdn_value(principal.resource)

    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        if principal.id.resource_type not in ("user", "group"):
            raise InvalidArgumentError(
                f"ldap: only users and groups can be members, not {principal.id.resource_type!r}"
            )
        group_dn = entitlement.resource.id.resource
        attribute, value = self._target(group_dn, principal.id)
        code = self.directory.client.modify(
            group_dn, {attribute: [("MODIFY_ADD", [value])]}, tolerate=(VALUE_EXISTS,)
        )
        if code == VALUE_EXISTS:
            log.info("%s is already a member of %s", principal.id.resource, group_dn)
        slim = Entitlement(id=entitlement.id, resource=Resource(id=entitlement.resource.id))
        annotations = (
            [builders.grant_expandable([member_entitlement_id(principal.id.resource)])]
            if principal.id.resource_type == "group"
            else []
        )
        return [builders.grant(slim, principal.id, annotations=annotations)]

    def revoke(self, grant: Grant) -> None:
        group_dn = grant.entitlement.resource.id.resource
        attribute, value = self._target(group_dn, grant.principal.id)
        group = self.directory.client.read(group_dn, MEMBER_ATTRIBUTES)
        stored = group.values(attribute) if group is not None else []
        # Delete the value as the server stored it; a DN may be spelled differently.
        matching = [
            v
            for v in stored
            if v == value
            or (attribute != "memberUid" and canonical_dn(v).lower() == canonical_dn(value).lower())
        ]
        if not matching:
            return  # not a member: revoking is idempotent
        if attribute == "member" and len(stored) == len(matching):
            raise FailedPreconditionError(
                f"ldap: {grant.principal.id.resource!r} is the last member of groupOfNames {group_dn!r}, "
                "which must keep at least one"
            )
        self.directory.client.modify(
            group_dn, {attribute: [("MODIFY_DELETE", matching)]}, tolerate=(NO_SUCH_ATTRIBUTE,)
        )

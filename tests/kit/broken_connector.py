"""A small users/groups connector that can be broken on purpose, one defect at a time.

``--defect=none`` is healthy and passes the kit; every other value breaks exactly
one thing the kit checks (see DEFECTS), so the kit's tests can show each check fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from baton_cli.connector import (
    AccountRequest,
    AccountResult,
    Config,
    ConfigField,
    ConnectorMetadata,
    Credential,
    Entitlement,
    Grant,
    Page,
    Plugin,
    Resource,
    ResourceId,
    ResourceSyncer,
    builders,
)

# defect -> the kit test that must fail, and a fragment its message must contain.
DEFECTS: dict[str, tuple[str, str]] = {
    "validate-fails": ("test_metadata_and_validate", "validate() raised ConnectionError: directory down"),
    "half-provisioner": (
        "test_capabilities_match_protocols",
        "resource type 'user' has grant() but not revoke()",
    ),
    "list-raises": ("test_every_resource_type_lists", "resources of type 'user' raised KeyError"),
    "repeated-token": ("test_every_listing_terminates", "page token 'p1' twice"),
    "duplicate-id": ("test_resource_ids_are_unique", "resource user:u2 is listed 2 times"),
    "missing-trait": ("test_resources_carry_their_types_trait", "resource user:u3 lacks the UserTrait"),
    "orphan-parent": ("test_parents_exist", "resource group:g2 names parent org:nowhere"),
    "unknown-child-type": ("test_child_resource_types_are_walked", "child resource type 'project'"),
    "entitlement-id-layout": ("test_entitlements_belong_to_their_resource", "'g1-member' does not follow"),
    "grant-unknown-principal": (
        "test_grants_reference_listed_entitlements_and_principals",
        "names principal user:ghost, which no listing returned",
    ),
    "expandable-missing": ("test_grant_expandable_targets_exist", "'group:g9:member', which was not listed"),
    "duplicate-grant": ("test_no_duplicate_grants", "grant 'group:g1:member:user:u1' is listed 2 times"),
    "grant-not-listed": ("test_grant_then_revoke_round_trips", "grants lacks it"),
    "account-undeclared-type": ("test_create_account_returns_a_declared_type", "returned resource account:"),
    "rotate-empty": ("test_rotate_credentials_returns_credentials", "returned no credential bytes"),
    "unstable-ids": ("test_sync_into_c1z_reads_back", "was listed but is not in the c1z"),
}

USER = builders.resource_type("user", "User", traits=[builders.TRAIT_USER])
GROUP = builders.resource_type("group", "Group", traits=[builders.TRAIT_GROUP])


class _State:
    def __init__(self) -> None:
        self.users = ["u1", "u2", "u3"]
        self.members = {"g1": {"u1", "u2"}, "g2": {"u3"}}
        self.counter = itertools.count(1)


class Users:
    resource_type = USER

    def __init__(self, state: _State, defect: str) -> None:
        self.state, self.defect = state, defect

    def _user(self, uid: str) -> Resource:
        if self.defect == "missing-trait" and uid == "u3":
            return builders.resource("user", uid, uid.upper())
        if self.defect == "unstable-ids":
            uid = f"{uid}-{next(self.state.counter)}"
        return builders.user_resource("user", uid, uid.upper(), login=uid)

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if self.defect == "list-raises":
            return Page([{}["boom"]])  # a bug in connector code
        if parent is not None:
            return Page([])
        if self.defect == "repeated-token":
            return Page([self._user("u1")], next_token="p1")
        ids = list(self.state.users)
        if self.defect == "duplicate-id":
            # Across two pages, so only the whole listing shows it.
            return Page([self._user("u2")], "") if page_token else Page([self._user(i) for i in ids], "2")
        return Page([self._user(i) for i in ids])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])

    def create_account(self, request: AccountRequest) -> AccountResult:
        self.state.users.append(request.login)
        type_id = "account" if self.defect == "account-undeclared-type" else "user"
        return AccountResult(resource=builders.user_resource(type_id, request.login, request.login))

    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None:
        self.state.users.remove(resource_id.resource)

    def rotate_credentials(self, resource_id: ResourceId) -> Sequence[Credential]:
        if self.defect == "rotate-empty":
            return []
        return [Credential(name="password", bytes_=b"n3w-secret")]


class HalfProvisionedUsers(Users):
    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        return []


class Groups:
    resource_type = GROUP

    def __init__(self, state: _State, defect: str) -> None:
        self.state, self.defect = state, defect

    def _group(self, gid: str) -> Resource:
        children = ["project"] if self.defect == "unknown-child-type" and gid == "g1" else []
        parent = (
            ResourceId(resource_type="org", resource="nowhere") if self.defect == "orphan-parent" else None
        )
        group = builders.group_resource("group", gid, gid.upper(), children=children)
        if parent is not None and gid == "g2":
            group.parent_resource_id.CopyFrom(parent)
        return group

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is not None:
            return Page([])
        return Page([self._group(g) for g in sorted(self.state.members)])

    def _member(self, resource: Resource) -> Entitlement:
        entitlement = builders.assignment_entitlement(resource, "member", grantable_to=["user"])
        if self.defect == "entitlement-id-layout":
            entitlement.id = f"{resource.id.resource}-member"
        return entitlement

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([self._member(resource)])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        member = self._member(resource)
        gid = resource.id.resource
        users = sorted(self.state.members[gid])
        grants = [builders.grant(member, builders.resource_id("user", u)) for u in users]
        if gid == "g1" and self.defect == "grant-unknown-principal":
            grants.append(builders.grant(member, builders.resource_id("user", "ghost")))
        if gid == "g1" and self.defect == "duplicate-grant":
            grants.append(builders.grant(member, builders.resource_id("user", "u1")))
        if gid == "g2" and self.defect == "expandable-missing":
            nested = builders.resource_id("group", "g1")
            grants.append(
                builders.grant(member, nested, annotations=[builders.grant_expandable(["group:g9:member"])])
            )
        return Page(grants)

    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        if self.defect != "grant-not-listed":
            self.state.members[entitlement.resource.id.resource].add(principal.id.resource)
        return [builders.grant(entitlement, principal.id)]

    def revoke(self, grant: Grant) -> None:
        self.state.members[grant.entitlement.resource.id.resource].discard(grant.principal.id.resource)


class Broken:
    def __init__(self, config: Config) -> None:
        defect = config.get_str("defect")
        state = _State()
        users = HalfProvisionedUsers if defect == "half-provisioner" else Users
        self.defect = defect
        self.syncers: list[ResourceSyncer] = [users(state, defect), Groups(state, defect)]

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Broken on purpose")

    def validate(self) -> None:
        if self.defect == "validate-fails":
            raise ConnectionError("directory down")

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self.syncers


plugin = Plugin(
    name="broken",
    description="a connector with one deliberate defect",
    fields=(ConfigField("defect", "string", default="none", choices=("none", *DEFECTS)),),
    factory=Broken,
)

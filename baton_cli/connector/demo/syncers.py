"""The demo's three resource syncers and their provisioning operations.

``user``: accounts (create, delete, rotate credentials); no entitlements.
``group``: one ``member`` entitlement, granted to users.
``role``: one ``assignment`` entitlement, granted to users or to whole groups;
a group grant carries GrantExpandable so expansion hands the role to every member.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from google.protobuf import any_pb2

from baton_cli.connector import builders
from baton_cli.connector.api import (
    AccountRequest,
    AccountResult,
    Credential,
    CredentialIssueDetails,
    Entitlement,
    Grant,
    IssuedCredential,
    IssueRequest,
    Page,
    Resource,
    ResourceId,
    ResourceType,
)
from baton_cli.connector.demo.model import (
    GROUP,
    ROLE,
    USER,
    entitlement_id,
    id_format,
    object_id,
    parse_index,
)
from baton_cli.connector.demo.paging import page
from baton_cli.connector.demo.state import CreatedUser, DemoState
from baton_cli.connector.demo.world import (
    GROUP_TYPE,
    USER_TYPE,
    DemoWorld,
    created_user,
    generated_user,
    resource_type_for,
)
from baton_cli.errors import BatonError, FailedPreconditionError, NotFoundError, StatusCode, UsageError
from baton_cli.pb.c1.connector.v2 import annotation_trait_pb2, connector_pb2, resource_pb2

PASSWORD_BYTES = 15  # 20 URL-safe characters
API_KEY_SCOPES = ("read", "write")


def _new_password() -> Credential:
    return Credential(
        "password", secrets.token_urlsafe(PASSWORD_BYTES).encode("ascii"), "demo random password"
    )


def _principal_annotations(principal_type: str, principal_id: str) -> list[any_pb2.Any]:
    """A grant to a whole group expands to the group's members (runner.md §7.5)."""
    if principal_type != GROUP:
        return []
    return [builders.grant_expandable([entitlement_id(GROUP, principal_id)])]


class _DemoSyncer:
    """What all three types share: identity, entitlements and deletion."""

    type_id = ""

    def __init__(self, world: DemoWorld) -> None:
        self._world = world

    @property
    def resource_type(self) -> ResourceType:
        copy = ResourceType()  # a copy, so a caller cannot change the shared definition
        copy.CopyFrom(resource_type_for(self.type_id))
        return copy

    def _entitlement(self, resource: Resource, index: int) -> Entitlement | None:
        return None

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        state = self._world.store.current()
        rid = resource.id
        index = parse_index(self.type_id, rid.resource)
        built = None
        if rid.resource_type == self.type_id and index is not None and self._world.exists(state, *_key(rid)):
            built = self._entitlement(resource, index)
        return page(0 if built is None else 1, page_token, self._world.page_size, lambda _: built)

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        """One resource by id, for targeted syncs; None when it does not exist."""
        index = parse_index(self.type_id, resource_id.resource)
        state = self._world.store.current()
        if resource_id.resource_type != self.type_id or index is None:
            return None
        if not self._world.exists(state, *_key(resource_id)):
            return None
        return self._build(state, resource_id.resource, index)

    def _build(self, state: DemoState, id_: str, index: int) -> Resource:
        raise NotImplementedError

    def _check_type(self, resource_id: ResourceId) -> None:
        if resource_id.resource_type != self.type_id:
            raise UsageError(f"demo: {resource_id.resource_type!r} is not a {self.type_id} resource")

    def delete(self, resource_id: ResourceId, parent: ResourceId | None) -> None:
        self._check_type(resource_id)
        type_id, id_ = _key(resource_id)

        def change(state: DemoState) -> None:
            if not self._world.exists(state, type_id, id_):
                raise NotFoundError(f"demo: {type_id} {id_!r} does not exist")
            if id_ not in state.created:
                state.deleted.add(f"{type_id}:{id_}")
            state.forget(type_id, id_)
            state.record_event("change", resource_type=type_id, resource_id=id_)

        self._world.store.update(change)


def _key(resource_id: ResourceId) -> tuple[str, str]:
    return resource_id.resource_type, resource_id.resource


class UserSyncer(_DemoSyncer):
    type_id = USER

    def _build(self, state: DemoState, id_: str, index: int) -> Resource:
        created = state.created.get(id_)
        return created_user(created) if created is not None else generated_user(index)

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return page(0, page_token, self._world.page_size, lambda _: None)

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        # Users have none; skipping the shared version's per-resource state and id checks
        # matters because a sync asks once per user.
        return page(0, page_token, self._world.page_size, lambda _: None)

    def create_account(self, request: AccountRequest) -> AccountResult:
        if not request.login:
            raise UsageError("demo: create account needs a login")
        display_name = str(request.profile.get("display_name") or request.login)

        def change(state: DemoState) -> AccountResult:
            existing = self._world.find_user_by_login(state, request.login)
            if existing is not None:
                return AccountResult(existing, already_existed=True)
            index = state.next_user if state.next_user is not None else self._world.sizes.users
            user = CreatedUser(object_id(USER, index), request.login, request.email, display_name)
            state.created[user.id] = user
            state.next_user = index + 1
            state.record_event("change", resource_type=USER, resource_id=user.id)
            return AccountResult(created_user(user), [_new_password()])

        return self._world.store.update(change)

    def create(self, resource: Resource) -> Resource:
        """A new user from the resource the platform describes: its user trait's login and email,
        else a login made from the display name."""
        trait = annotation_trait_pb2.UserTrait()
        for annotation in resource.annotations:
            if annotation.Is(trait.DESCRIPTOR):
                annotation.Unpack(trait)
        login = trait.login or "".join(resource.display_name.lower().split())
        if not login:
            raise UsageError("demo: a new user needs a display name or a user trait with a login")
        email = trait.emails[0].address if trait.emails else ""
        result = self.create_account(
            AccountRequest(login=login, email=email, profile={"display_name": resource.display_name or login})
        )
        if result.already_existed:
            raise BatonError(
                f"demo: a user with login {login!r} already exists", code=StatusCode.ALREADY_EXISTS
            )
        return result.resource

    def credential_issue_details(self) -> CredentialIssueDetails:
        api_key = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_API_KEY
        option = connector_pb2.CredentialIssueOptionDescriptor(
            option=api_key,
            scopes=list(API_KEY_SCOPES),
            resource_mode=resource_pb2.CREDENTIAL_RESOURCE_MODE_VIRTUAL,
        )
        return CredentialIssueDetails(options=[option], preferred_option=api_key)

    def issue_credential(self, request: IssueRequest) -> IssuedCredential:
        """An API key for a user; one per request id, so a repeated task cannot issue twice."""
        self._world.store.require()
        self._check_type(request.identity_id)
        if request.options.WhichOneof("options") != "api_key":
            raise BatonError("demo: only API keys are issued", code=StatusCode.INVALID_ARGUMENT)
        unknown = sorted(set(request.options.api_key.scopes) - set(API_KEY_SCOPES))
        if unknown:
            raise UsageError(
                f"demo: unknown API key scope {unknown[0]!r} (known: {', '.join(API_KEY_SCOPES)})"
            )
        user_id = request.identity_id.resource

        def change(state: DemoState) -> None:
            if not self._world.exists(state, USER, user_id):
                raise NotFoundError(f"demo: user {user_id!r} does not exist")
            if request.request_id in state.issued:
                raise FailedPreconditionError(f"demo: request {request.request_id!r} already issued a key")
            state.issued.append(request.request_id)
            state.record_event("change", resource_type=USER, resource_id=user_id)

        self._world.store.update(change)
        key = Credential("api_key", f"demo_{secrets.token_urlsafe(24)}".encode("ascii"), "demo API key")
        return IssuedCredential([key], resource_mode=resource_pb2.CREDENTIAL_RESOURCE_MODE_VIRTUAL)

    def rotate_credentials(self, resource_id: ResourceId) -> Sequence[Credential]:
        self._world.store.require()
        self._check_type(resource_id)
        type_id, id_ = _key(resource_id)

        def change(state: DemoState) -> None:
            if not self._world.exists(state, type_id, id_):
                raise NotFoundError(f"demo: user {id_!r} does not exist")
            # Recorded like every other change, so a rotation that ran twice shows in the file.
            state.record_event("change", resource_type=type_id, resource_id=id_, credential="rotated")

        self._world.store.update(change)
        return [_new_password()]

    # Defined last: inside the class body ``list`` names this method, not the builtin.
    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is not None:  # the demo has no child resources
            return page(0, page_token, self._world.page_size, lambda _: None)
        state = self._world.store.current()
        generated = self._world.sizes.users
        created = [*state.created.values()]

        def make(position: int) -> Resource | None:
            if position >= generated:
                return created_user(created[position - generated])
            if state.deleted and state.is_deleted(USER, object_id(USER, position)):
                return None
            return generated_user(position)

        return page(generated + len(created), page_token, self._world.page_size, make)


class _ProvisionedSyncer(_DemoSyncer):
    """Group and role: resources with one grantable entitlement each."""

    grantable: tuple[str, ...] = ()

    def _build(self, state: DemoState, id_: str, index: int) -> Resource:
        return self._resource(index)

    def _resource(self, index: int) -> Resource:
        raise NotImplementedError

    # Principals of the generated grants are of one type, per syncer.
    generated_principal_type = ""

    def _generated(self, index: int) -> tuple[int, Callable[[int], str]]:
        """How many generated grants resource ``index`` has, and the principal id of the k-th."""
        raise NotImplementedError

    def _grant(self, entitlement: Entitlement, principal_type: str, principal_id: str) -> Grant:
        return builders.grant(
            entitlement,
            ResourceId(resource_type=principal_type, resource=principal_id),
            annotations=_principal_annotations(principal_type, principal_id),
        )

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        state = self._world.store.current()
        rid = resource.id
        index = parse_index(self.type_id, rid.resource)
        if rid.resource_type != self.type_id or index is None or not self._world.exists(state, *_key(rid)):
            return page(0, page_token, self._world.page_size, lambda _: None)
        # One slim entitlement per page, copied into each grant: the sync only needs its identity.
        entitlement = Entitlement(id=entitlement_id(self.type_id, rid.resource), resource=Resource(id=rid))
        generated, principal_of = self._generated(index)
        generated_type = self.generated_principal_type
        make_generated = builders.grant_factory(entitlement, generated_type)
        prefix = f"{entitlement.id}:{generated_type}:"
        annotate = generated_type == GROUP
        added = state.added_grants(entitlement.id)
        deleted, revoked = state.deleted, state.revoked

        def make(position: int) -> Grant | None:
            if position < generated:
                principal_id = principal_of(position)
                if (deleted and state.is_deleted(generated_type, principal_id)) or (
                    revoked and prefix + principal_id in revoked
                ):
                    return None
                built = make_generated(principal_id)
                if annotate:
                    built.annotations.extend(_principal_annotations(generated_type, principal_id))
                return built
            principal_type, principal_id = added[position - generated]
            if not self._world.exists(state, principal_type, principal_id):
                return None
            return self._grant(entitlement, principal_type, principal_id)

        return page(generated + len(added), page_token, self._world.page_size, make)

    def _parse_entitlement(self, ent_id: str) -> str:
        """The resource id in one of this type's entitlement ids."""
        id_ = ent_id.split(":")[1] if ent_id.count(":") == 2 else ""
        if not id_ or ent_id != entitlement_id(self.type_id, id_):
            raise NotFoundError(f"demo: no {self.type_id} entitlement {ent_id!r}")
        return id_

    def grant(self, principal: Resource, entitlement: Entitlement) -> Sequence[Grant]:
        self._world.store.require()
        id_ = self._parse_entitlement(entitlement.id)
        principal_type, principal_id = _key(principal.id)
        if principal_type not in self.grantable:
            allowed = " or ".join(self.grantable)
            raise UsageError(
                f"demo: {entitlement.id!r} can only be granted to a {allowed}, not a {principal_type!r}"
            )
        world = self._world

        def change(state: DemoState) -> None:
            if not world.exists(state, self.type_id, id_):
                raise NotFoundError(f"demo: {self.type_id} {id_!r} does not exist")
            if not world.exists(state, principal_type, principal_id):
                raise NotFoundError(f"demo: {principal_type} {principal_id!r} does not exist")
            state.record_event(
                "grant", entitlement=entitlement.id, principal_type=principal_type, principal_id=principal_id
            )
            if world.is_generated_grant(self.type_id, id_, principal_type, principal_id):
                state.revoked.discard(f"{entitlement.id}:{principal_type}:{principal_id}")
                return
            principals = state.granted.setdefault(entitlement.id, [])
            if (principal_type, principal_id) not in principals:
                principals.append((principal_type, principal_id))

        world.store.update(change)
        slim = Entitlement(
            id=entitlement.id, resource=Resource(id=ResourceId(resource_type=self.type_id, resource=id_))
        )
        return [self._grant(slim, principal_type, principal_id)]

    def revoke(self, grant: Grant) -> None:
        """Remove a grant; revoking one that is not there is a no-op, so retries are safe."""
        self._world.store.require()
        # A grant carrying only its id still names both ends: "<type>:<id>:<slug>:<ptype>:<pid>".
        parts = grant.id.split(":") if grant.id.count(":") == 4 else ["", "", "", "", ""]
        ent_id = grant.entitlement.id or ":".join(parts[:3])
        principal_type, principal_id = (
            _key(grant.principal.id) if grant.principal.id.resource else (parts[3], parts[4])
        )
        id_ = self._parse_entitlement(ent_id)
        world = self._world

        def change(state: DemoState) -> None:
            state.record_event(
                "revoke", entitlement=ent_id, principal_type=principal_type, principal_id=principal_id
            )
            principals = state.granted.get(ent_id, [])
            if (principal_type, principal_id) in principals:
                principals.remove((principal_type, principal_id))
                if not principals:
                    del state.granted[ent_id]
            elif world.is_generated_grant(self.type_id, id_, principal_type, principal_id):
                state.revoked.add(f"{ent_id}:{principal_type}:{principal_id}")

        world.store.update(change)

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        state = self._world.store.current()
        count = 0 if parent is not None else self._world.sizes.count(self.type_id)

        def make(position: int) -> Resource | None:
            if state.deleted and state.is_deleted(self.type_id, object_id(self.type_id, position)):
                return None
            return self._resource(position)

        return page(count, page_token, self._world.page_size, make)


class GroupSyncer(_ProvisionedSyncer):
    type_id = GROUP
    grantable = (USER,)

    def _resource(self, index: int) -> Resource:
        return builders.group_resource(GROUP, object_id(GROUP, index), f"Group {index}")

    def _entitlement(self, resource: Resource, index: int) -> Entitlement:
        return builders.assignment_entitlement(
            resource,
            "member",
            display_name=f"Group {index} Member",
            description=f"Member of Group {index}",
            grantable_to=[USER_TYPE],
        )

    generated_principal_type = USER

    def _generated(self, index: int) -> tuple[int, Callable[[int], str]]:
        sizes = self._world.sizes
        per, users = sizes.members_per_group, sizes.users
        first, user_id = index * per, id_format(USER)
        return per, lambda k: user_id % ((first + k) % users)


class RoleSyncer(_ProvisionedSyncer):
    type_id = ROLE
    grantable = (USER, GROUP)

    def _resource(self, index: int) -> Resource:
        return builders.role_resource(ROLE, object_id(ROLE, index), f"Role {index}")

    def _entitlement(self, resource: Resource, index: int) -> Entitlement:
        return builders.assignment_entitlement(
            resource,
            "assignment",
            display_name=f"Role {index} Assignment",
            description=f"Has Role {index}",
            grantable_to=[USER_TYPE, GROUP_TYPE],
        )

    generated_principal_type = GROUP

    def _generated(self, index: int) -> tuple[int, Callable[[int], str]]:
        sizes = self._world.sizes
        roles, group_id = sizes.roles, id_format(GROUP)
        return sizes.role_group_count(index), lambda k: group_id % (index + k * roles)

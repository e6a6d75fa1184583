"""Targeted syncs, type filters, skip flags, retries and warnings (runner.md §7.2-§7.8)."""

from __future__ import annotations

import pytest

from baton_cli.connector.api import Entitlement, Grant, Page, Resource, ResourceId, ResourceType
from baton_cli.core.sync import SyncEngine
from baton_cli.core.sync_options import SyncOptions
from baton_cli.errors import ConnectorError, NotFoundError, RetryableConnectorError, UsageError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, annotation_resource_tree_pb2
from tests.core.fakes import FakeConnector, MemoryStore, OrgSyncer, TeamSyncer, packed


class Users:
    """Three users; `get` for targeted syncs; grants of user u1 name a group type not in the sync."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = failures or []
        self.get_calls: list[str] = []

    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="user", display_name="User")

    def _user(self, n: int) -> Resource:
        return Resource(id=ResourceId(resource_type="user", resource=f"u{n}"), display_name=f"U{n}")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if self.failures:
            raise self.failures.pop(0)
        return Page([self._user(n) for n in range(3)])

    def get(self, resource_id: ResourceId, parent: ResourceId | None) -> Resource | None:
        self.get_calls.append(resource_id.resource)
        if resource_id.resource == "gone":
            raise NotFoundError("no such user")
        return self._user(int(resource_id.resource[1:]))

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([Entitlement(id=f"user:{resource.id.resource}:self", resource=resource, slug="self")])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        own = Entitlement(id=f"user:{resource.id.resource}:self", resource=resource)
        foreign = Entitlement(
            id="group:g1:member", resource=Resource(id=ResourceId(resource_type="group", resource="g1"))
        )
        expandable = packed(
            annotation_grant_pb2.GrantExpandable(entitlement_ids=["x"], resource_type_ids=["user", "group"])
        )
        return Page(
            [
                Grant(
                    id=f"{own.id}:user:{resource.id.resource}",
                    entitlement=own,
                    principal=resource,
                    annotations=[expandable],
                ),
                Grant(
                    id=f"group:g1:member:user:{resource.id.resource}", entitlement=foreign, principal=resource
                ),
            ]
        )


def run(options: SyncOptions, *syncers: object) -> tuple[MemoryStore, object]:
    store = MemoryStore()
    engine = SyncEngine(FakeConnector(*syncers), store, options=options, retry_base_seconds=0.001)  # type: ignore[arg-type]
    return store, engine.run()


def test_full_sync_drops_grants_of_types_not_in_the_sync_and_narrows_expandable() -> None:
    store, result = run(SyncOptions(skip_expand_grants=True), Users())
    assert {g.id for g in store.grants} == {f"user:u{n}:self:user:u{n}" for n in range(3)}
    assert result.dropped == {"grant naming a resource type not in the sync": 3}  # type: ignore[attr-defined]
    expandable = annotation_grant_pb2.GrantExpandable()
    store.grants[0].annotations[0].Unpack(expandable)
    assert list(expandable.resource_type_ids) == ["user"]


def test_resource_type_filter_keeps_only_named_types_and_rejects_unknown() -> None:
    store, _ = run(SyncOptions(resource_type_ids=("org",)), OrgSyncer(), TeamSyncer())
    assert {r.id.resource_type for r in store.resources} == {"org"}
    assert [t.id for t in store.resource_types] == ["org"]
    with pytest.raises(UsageError, match=r"unknown resource type 'nope'; the connector has org, team"):
        run(SyncOptions(resource_type_ids=("nope",)), OrgSyncer(), TeamSyncer())


def test_skip_entitlements_and_grants_is_a_resources_only_sync() -> None:
    store, result = run(SyncOptions(skip_entitlements_and_grants=True), Users())
    assert store.started == ("resources_only", "")
    assert len(store.resources) == 3 and store.entitlements == [] and store.grants == []
    assert result.sync_type == "resources_only"  # type: ignore[attr-defined]


def test_targeted_sync_fetches_targets_and_their_entitlements_and_grants() -> None:
    users = Users()
    targets = (
        ResourceId(resource_type="user", resource="u2"),
        ResourceId(resource_type="user", resource="gone"),
        ResourceId(resource_type="user", resource="u2"),
    )
    store, result = run(SyncOptions(targets=targets), users)
    assert store.started == ("partial", "previous-full")
    assert users.get_calls == ["u2", "gone"]  # deduplicated; NOT_FOUND skipped silently
    assert [r.id.resource for r in store.resources] == ["u2"]
    assert [e.id for e in store.entitlements] == ["user:u2:self"]
    # Partial syncs keep grants whatever their types, and do not expand.
    assert len(store.grants) == 2 and not result.needs_expansion  # type: ignore[attr-defined]


def test_targeted_sync_with_skip_grants() -> None:
    store, _ = run(
        SyncOptions(targets=(ResourceId(resource_type="user", resource="u1"),), skip_grants=True), Users()
    )
    assert len(store.entitlements) == 1 and store.grants == []


def test_retryable_errors_are_retried_until_success() -> None:
    users = Users(failures=[RetryableConnectorError("rate limited"), RetryableConnectorError("again")])
    store, _ = run(SyncOptions(skip_expand_grants=True), users)
    assert len(store.resources) == 3 and users.failures == []


def test_not_found_listing_is_a_warning_and_the_action_is_skipped() -> None:
    store, result = run(SyncOptions(), Users(failures=[NotFoundError("listing vanished")]))
    assert store.resources == []
    assert result.warnings and "listing vanished" in result.warnings[0]  # type: ignore[attr-defined]


def test_other_errors_fail_without_retry() -> None:
    users = Users(failures=[ConnectorError("bad credentials"), ConnectorError("never reached")])
    with pytest.raises(ConnectorError, match="bad credentials"):
        run(SyncOptions(), users)
    assert len(users.failures) == 1


class Many:
    """Eleven orgs whose entitlement listing always says NOT_FOUND: more warnings than allowed."""

    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(id="org")

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        return Page([Resource(id=ResourceId(resource_type="org", resource=f"o{i}")) for i in range(11)])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        raise NotFoundError(f"{resource.id.resource} vanished")

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


def test_too_many_warnings_fail_the_sync() -> None:
    with pytest.raises(ConnectorError, match="too many warnings: 11"):
        run(SyncOptions(), Many())


def test_skip_annotations_on_a_resource_type() -> None:
    class Skipping(Users):
        @property
        def resource_type(self) -> ResourceType:
            skip = packed(annotation_resource_tree_pb2.SkipGrants())
            return ResourceType(id="user", annotations=[skip])

    store, _ = run(SyncOptions(skip_expand_grants=True), Skipping())
    assert len(store.entitlements) == 3 and store.grants == []


def test_invariant_failures_fail_the_sync_and_warnings_are_reported() -> None:
    from baton_cli.errors import StatusCode
    from tests.core.fakes import Invariants

    store = MemoryStore(invariants=Invariants(failures=("exclusion group 'x' has 2 defaults",)))
    engine = SyncEngine(FakeConnector(Users()), store, options=SyncOptions(skip_expand_grants=True))  # type: ignore[arg-type]
    with pytest.raises(
        ConnectorError, match=r"I5 failed \(entitlement exclusion.*: exclusion group 'x'"
    ) as info:
        engine.run()
    assert info.value.code == StatusCode.FAILED_PRECONDITION and not store.ended

    store = MemoryStore(invariants=Invariants(warnings={"I9": 4}))
    result = SyncEngine(FakeConnector(Users()), store, options=SyncOptions(skip_expand_grants=True)).run()  # type: ignore[arg-type]
    assert result.warnings == ("I9: 4 grants name a principal that is not in the sync",)
    assert store.ended and store.verified

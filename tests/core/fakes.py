"""Fakes for unit tests of the sync engine: an in-memory store and a tiny connector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.c1z.rows import GrantIds
from baton_cli.connector.api import (
    ConnectorMetadata,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceType,
)
from baton_cli.pb.c1.connector.v2 import annotation_resource_tree_pb2, annotation_trait_pb2


def packed(message: object) -> AnyPb:
    value = AnyPb()
    value.Pack(message)  # type: ignore[arg-type]
    return value


@dataclass
class Invariants:
    warnings: dict[str, int] = field(default_factory=dict)
    failures: tuple[str, ...] = ()


@dataclass
class MemoryStore:
    resource_types: list[ResourceType] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    entitlements: list[Entitlement] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    checkpoints: int = 0
    ended: bool = False
    started: tuple[str, str] = ("", "")
    invariants: Invariants = field(default_factory=lambda: Invariants())
    verified: bool = False

    def start_sync(self, sync_type: str = "full", parent_sync_id: str = "") -> str:
        self.started = (sync_type, parent_sync_id)
        return "sync-1"

    def put_resource_types(self, items: Sequence[ResourceType]) -> int:
        self.resource_types.extend(items)
        return len(items)

    def put_resources(self, items: Sequence[Resource]) -> int:
        self.resources.extend(items)
        return len(items)

    def put_entitlements(self, items: Sequence[Entitlement]) -> int:
        self.entitlements.extend(items)
        return len(items)

    def put_grants(self, items: Sequence[Grant], ids: Sequence[GrantIds] | None = None) -> int:
        if ids is not None:  # the engine's ids must be each grant's own
            assert [i[5] for i in ids] == [g.id for g in items]
        self.grants.extend(items)
        return len(items)

    def resources_after(self, row_id: int, limit: int) -> list[tuple[int, Resource]]:
        rows = list(enumerate(self.resources, start=1))
        return [(i, r) for i, r in rows if i > row_id][:limit]

    def count_resources_after(self, row_id: int) -> int:
        return max(0, len(self.resources) - row_id)

    def get_resource(self, resource_type_id: str, resource_id: str) -> Resource | None:
        for r in self.resources:
            if (r.id.resource_type, r.id.resource) == (resource_type_id, resource_id):
                return r
        return None

    def set_sync_token(self, token: str) -> None:
        self.tokens.append(token)

    def checkpoint(self) -> None:
        self.checkpoints += 1

    def unfinished_sync(self, sync_type: str = "full") -> None:
        return None

    def latest_full_sync_id(self) -> str:
        return "previous-full"

    def check_invariants(self) -> Invariants:
        return self.invariants

    def mark_invariants_verified(self, sync_id: str) -> None:
        self.verified = True

    def resume_sync(self, run: object) -> str:
        raise AssertionError("nothing to resume in a MemoryStore")

    def end_sync(self) -> dict[str, object]:
        self.ended = True
        return {}


def org_type() -> ResourceType:
    return ResourceType(id="org", display_name="Org")


def team_type() -> ResourceType:
    return ResourceType(id="team", display_name="Team", traits=[ResourceType.TRAIT_GROUP])


class OrgSyncer:
    """Two orgs, each announcing a child resource type `team`."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def resource_type(self) -> ResourceType:
        return org_type()

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        self.calls.append(f"list:{page_token}")
        child = packed(annotation_resource_tree_pb2.ChildResourceType(resource_type_id="team"))
        number = 1 if not page_token else 2
        org = Resource(id=ResourceId(resource_type="org", resource=f"o{number}"), annotations=[child])
        return Page([org], next_token="" if page_token else "p2")

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([Entitlement(id=f"org:{resource.id.resource}:admin", resource=resource, slug="admin")])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


class TeamSyncer:
    """Teams only exist under an org; `with_trait=False` makes them break the trait rule."""

    def __init__(self, with_trait: bool = True, fail_grants: bool = False) -> None:
        self.with_trait = with_trait
        self.fail_grants = fail_grants
        self.parents: list[str] = []

    @property
    def resource_type(self) -> ResourceType:
        return team_type()

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        if parent is None:
            return Page([])
        self.parents.append(parent.resource)
        annotations = [packed(annotation_trait_pb2.GroupTrait())] if self.with_trait else []
        team = Resource(
            id=ResourceId(resource_type="team", resource=f"{parent.resource}-t"),
            parent_resource_id=parent,
            annotations=annotations,
        )
        return Page([team])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        if self.fail_grants:
            raise RuntimeError("upstream API said 500")
        return Page([])


class FakeConnector:
    def __init__(self, *syncers: object) -> None:
        self._syncers = syncers

    def metadata(self) -> ConnectorMetadata:
        return ConnectorMetadata(display_name="Fake")

    def validate(self) -> None:
        pass

    def resource_syncers(self) -> Sequence[object]:
        return self._syncers

"""An in-memory ExpansionStore and builders for grant-expansion unit tests.

The store hands out copies and keeps copies, as a database would, so a test
only sees what the expander actually wrote back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from baton_cli.connector.api import Entitlement, Grant, Resource, ResourceId
from baton_cli.core.expand import ExpandedRow
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2

GrantExpandable = annotation_grant_pb2.GrantExpandable


def resource(type_id: str, resource_id: str) -> Resource:
    return Resource(id=ResourceId(resource_type=type_id, resource=resource_id), display_name=resource_id)


def entitlement(owner: Resource, slug: str) -> Entitlement:
    return Entitlement(id=f"{owner.id.resource_type}:{owner.id.resource}:{slug}", resource=owner, slug=slug)


@dataclass(frozen=True, slots=True)
class Pending:
    entitlement_id: str
    principal_type_id: str
    principal_id: str
    expandable: GrantExpandable


def _copy(grant: Grant) -> Grant:
    out = Grant()
    out.CopyFrom(grant)
    return out


@dataclass
class FakeStore:
    page_size: int = 2  # small, so every listing is paged
    entitlements: dict[str, Entitlement] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    expansions: dict[str, GrantExpandable] = field(default_factory=dict)
    upsert_sizes: list[int] = field(default_factory=list)
    lookup_sizes: list[int] = field(default_factory=list)  # principals per grants_for_principals
    expansion_done: bool = False

    # -- building ------------------------------------------------------------

    def add_entitlement(self, owner: Resource, slug: str) -> Entitlement:
        ent = entitlement(owner, slug)
        self.entitlements[ent.id] = ent
        return ent

    def grant(
        self,
        ent: Entitlement,
        principal: Resource,
        *,
        expand_from: Sequence[str] = (),
        shallow: bool = False,
        types: Sequence[str] = (),
        sources: Mapping[str, bool] | None = None,
    ) -> Grant:
        g = Grant(
            id=f"{ent.id}:{principal.id.resource_type}:{principal.id.resource}",
            entitlement=ent,
            principal=principal,
        )
        for source_id, direct in (sources or {}).items():
            g.sources.sources[source_id].is_direct = direct
        self.grants[g.id] = g
        if expand_from:
            self.expansions[g.id] = GrantExpandable(
                entitlement_ids=list(expand_from), shallow=shallow, resource_type_ids=list(types)
            )
        return g

    # -- reading results -----------------------------------------------------

    def held(self, principal: Resource) -> dict[str, dict[str, bool]]:
        """Entitlement id -> sources (id -> is_direct) of every grant the principal holds."""
        return {
            g.entitlement.id: {k: v.is_direct for k, v in g.sources.sources.items()}
            for g in self.grants.values()
            if g.principal.id == principal.id
        }

    # -- the ExpansionStore protocol -----------------------------------------

    def pending_expansions(self) -> Iterator[Pending]:
        for grant_id, expandable in list(self.expansions.items()):
            g = self.grants[grant_id]
            yield Pending(g.entitlement.id, g.principal.id.resource_type, g.principal.id.resource, expandable)

    def get_entitlement(self, entitlement_id: str) -> Entitlement | None:
        found = self.entitlements.get(entitlement_id)
        if found is None:
            return None
        out = Entitlement()
        out.CopyFrom(found)
        return out

    def holder_pages(
        self, entitlement_id: str, principal_types: Collection[str] = ()
    ) -> Iterator[list[tuple[str, str, bytes, int]]]:
        # In principal order, as the SQLite store reads them; a principal's grants in stored order.
        matching = sorted(
            (
                (g.principal.id.resource_type, g.principal.id.resource, g.SerializeToString(), row)
                for row, g in enumerate(self.grants.values())
                if g.entitlement.id == entitlement_id
                and (not principal_types or g.principal.id.resource_type in principal_types)
            ),
            key=lambda row: row[:2],
        )
        for start in range(0, len(matching), self.page_size):
            yield matching[start : start + self.page_size]

    def grants_for_principals(
        self, entitlement_id: str, principals: Collection[tuple[str, str]]
    ) -> Mapping[tuple[str, str], list[Grant]]:
        self.lookup_sizes.append(len(principals))
        wanted = set(principals)
        found: dict[tuple[str, str], list[Grant]] = {}
        for g in self.grants.values():
            key = (g.principal.id.resource_type, g.principal.id.resource)
            if g.entitlement.id == entitlement_id and key in wanted:
                found.setdefault(key, []).append(_copy(g))
        return found

    def upsert_expanded_rows(self, rows: Sequence[ExpandedRow]) -> None:
        self.upsert_sizes.append(len(rows))
        for *_columns, grant_id, data in rows:
            self.grants[grant_id] = Grant.FromString(data)

    def mark_expansion_done(self) -> None:
        self.expansion_done = True
        self.expansions.clear()

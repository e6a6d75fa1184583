"""Walking a connector the way a sync does: every page of every listing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from baton_cli.connector.api import Connector, Entitlement, Grant, Page, Resource

T = TypeVar("T")

MAX_PAGES = 100_000


def pages(fetch: Callable[[str], Page[T]]) -> list[Page[T]]:
    """All pages of a listing, following next_token until it is empty."""
    found: list[Page[T]] = []
    token = ""
    while True:
        current = fetch(token)
        found.append(current)
        if not current.next_token:
            return found
        assert current.next_token != token, "a listing must make progress"
        assert len(found) < MAX_PAGES, "listing does not end"
        token = current.next_token


def items(fetch: Callable[[str], Page[T]]) -> list[T]:
    return [item for current in pages(fetch) for item in current.items]


@dataclass
class Snapshot:
    type_ids: list[str] = field(default_factory=list)
    resources: dict[str, list[Resource]] = field(default_factory=dict)
    entitlements: list[Entitlement] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)

    def ids(self, type_id: str) -> list[str]:
        return [r.id.resource for r in self.resources[type_id]]

    def grant_ids(self) -> set[str]:
        return {g.id for g in self.grants}

    def grant_pairs(self) -> set[tuple[str, str]]:
        """(entitlement id, "<principal type>:<principal id>") of every grant."""
        return {
            (g.entitlement.id, f"{g.principal.id.resource_type}:{g.principal.id.resource}")
            for g in self.grants
        }


def snapshot(connector: Connector) -> Snapshot:
    snap = Snapshot()
    for syncer in connector.resource_syncers():
        type_id = syncer.resource_type.id
        snap.type_ids.append(type_id)
        resources = items(partial(syncer.list, None))
        snap.resources[type_id] = resources
        for resource in resources:
            snap.entitlements += items(partial(syncer.entitlements, resource))
            snap.grants += items(partial(syncer.grants, resource))
    return snap

"""Walking a connector in-process, the way a sync does, and recording what went wrong.

Unlike the sync engine, the walk keeps going after a bad listing, so one run of
the kit reports every problem (each naming the listing and ids) instead of the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from baton_cli.connector.api import (
    Connector,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
)
from baton_cli.core.traits import child_resource_type_ids, skips

T = TypeVar("T")

DEFAULT_MAX_PAGES = 10_000

ResourceKey = tuple[str, str]


def key_of(resource_id: ResourceId) -> ResourceKey:
    return (resource_id.resource_type, resource_id.resource)


def shown(key: ResourceKey) -> str:
    return f"{key[0]}:{key[1]}"


@dataclass
class Listing:
    """One complete listing (all its pages) and, if it went wrong, how."""

    what: str
    items: list[object] = field(default_factory=list)
    pages: int = 0
    error: str = ""  # the call raised, or returned something that is not a Page
    endless: str = ""  # a page token came back again, or the page bound was hit


@dataclass
class Observed:
    """Everything one walk saw."""

    syncers: dict[str, ResourceSyncer] = field(default_factory=dict)
    syncer_problems: list[str] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list)
    resources: dict[str, list[Resource]] = field(default_factory=dict)  # by type, in listing order
    # The resource whose listing returned each entitlement / grant.
    entitlements: list[tuple[ResourceKey, Entitlement]] = field(default_factory=list)
    grants: list[tuple[ResourceKey, Grant]] = field(default_factory=list)
    child_types: list[tuple[ResourceKey, str]] = field(default_factory=list)

    def resource_keys(self) -> set[ResourceKey]:
        return {key_of(r.id) for items in self.resources.values() for r in items}

    def entitlement_ids(self) -> set[str]:
        return {e.id for _owner, e in self.entitlements}

    def grants_of(self, key: ResourceKey) -> list[Grant]:
        return [g for owner, g in self.grants if owner == key]


def full_listing(what: str, fetch: Callable[[str], object], max_pages: int) -> Listing:
    listing = Listing(what)
    seen_tokens = {""}
    token = ""
    while True:
        try:
            page = fetch(token)
        except Exception as error:  # the kit reports connector failures, it does not stop at them
            listing.error = f"{what} raised {type(error).__name__}: {error}"
            return listing
        if not isinstance(page, Page):
            listing.error = f"{what} returned a {type(page).__name__}, not a Page"
            return listing
        listing.pages += 1
        listing.items.extend(page.items)
        if not page.next_token:
            return listing
        if page.next_token in seen_tokens:
            listing.endless = f"{what} returned page token {page.next_token!r} twice (endless pagination)"
            return listing
        if listing.pages >= max_pages:
            listing.endless = f"{what} did not end within {max_pages} pages"
            return listing
        seen_tokens.add(page.next_token)
        token = page.next_token


def walk(connector: Connector, *, max_pages: int = DEFAULT_MAX_PAGES, grants: bool = True) -> Observed:
    observed = Observed()
    for syncer in connector.resource_syncers():
        type_id = syncer.resource_type.id
        if not type_id:
            observed.syncer_problems.append("a resource syncer's resource type has no id")
            continue
        if type_id in observed.syncers:
            observed.syncer_problems.append(f"two resource syncers for resource type {type_id!r}")
            continue
        observed.syncers[type_id] = syncer
        observed.resources[type_id] = []

    # Every type at the top, then children under each parent that names them (depth first).
    pending: list[tuple[str, ResourceId | None]] = [(t, None) for t in reversed(observed.syncers)]
    while pending:
        type_id, parent = pending.pop()
        syncer = observed.syncers[type_id]
        what = f"resources of type {type_id!r}" + (f" under {shown(key_of(parent))}" if parent else "")
        listing = full_listing(what, partial(syncer.list, parent), max_pages)
        observed.listings.append(listing)
        for item in listing.items:
            if not isinstance(item, Resource):
                listing.error = listing.error or f"{what} holds a {type(item).__name__}, not a Resource"
                continue
            observed.resources[type_id].append(item)
            for child in child_resource_type_ids(item):
                observed.child_types.append((key_of(item.id), child))
                if child in observed.syncers:
                    pending.append((child, item.id))

    for type_id, syncer in observed.syncers.items():
        type_urls = frozenset(a.type_url for a in syncer.resource_type.annotations)
        for resource in observed.resources[type_id]:
            owner = key_of(resource.id)
            if not skips(type_urls, resource, "list-entitlements"):
                ents = full_listing(
                    f"entitlements of {shown(owner)}",
                    partial(syncer.entitlements, resource),
                    max_pages,
                )
                observed.listings.append(ents)
                observed.entitlements.extend((owner, e) for e in ents.items if isinstance(e, Entitlement))
            if grants and not skips(type_urls, resource, "list-grants"):
                listed = full_listing(
                    f"grants of {shown(owner)}",
                    partial(syncer.grants, resource),
                    max_pages,
                )
                observed.listings.append(listed)
                observed.grants.extend((owner, g) for g in listed.items if isinstance(g, Grant))
    return observed

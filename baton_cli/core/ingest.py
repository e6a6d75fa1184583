"""What the sync engine drops or refuses before storing (runner.md §7.3).

Full syncs keep the file self-consistent: an entitlement of a resource type
that is not in the sync, or a grant naming one, would dangle. Records without
an identity are dropped and counted; a connector claiming the SDK-reserved
``BatonID`` annotation is a hard error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from baton_cli.annotations import BATON_ID, EXTERNAL_RESOURCE_MATCH, GRANT_EXPANDABLE, has_any
from baton_cli.connector.api import Entitlement, Grant, Resource
from baton_cli.errors import ConnectorError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2

if TYPE_CHECKING:  # the row layout's own name; the c1z rows module is not loaded at run time
    from baton_cli.c1z.rows import GrantIds


class IngestFilter:
    """Per-sync filter; ``dropped`` counts what was left out, by reason."""

    def __init__(self, stored_types: Iterable[str], *, full_sync: bool) -> None:
        self.stored_types = frozenset(stored_types)
        self.full_sync = full_sync
        self.dropped: Counter[str] = Counter()
        # Whether any kept grant carries GrantExpandable (the sync then needs expansion).
        self.saw_expandable = False

    def resources(self, items: Sequence[Resource]) -> Sequence[Resource]:
        kept = []
        for resource in items:
            if has_any(resource.annotations, BATON_ID):
                raise ConnectorError(
                    f"resource {resource.id.resource_type}:{resource.id.resource} carries the reserved "
                    "BatonID annotation, which only the runner may set"
                )
            if not resource.id.resource_type or not resource.id.resource:
                self.dropped["resource without an id"] += 1
                continue
            kept.append(resource)
        return kept if len(kept) != len(items) else items

    def entitlements(self, items: Sequence[Entitlement]) -> Sequence[Entitlement]:
        kept = []
        for entitlement in items:
            resource_type = entitlement.resource.id.resource_type
            if not entitlement.id or not resource_type or not entitlement.resource.id.resource:
                self.dropped["entitlement without an id or resource"] += 1
            elif self.full_sync and resource_type not in self.stored_types:
                self.dropped["entitlement of a resource type not in the sync"] += 1
            else:
                kept.append(entitlement)
        return kept if len(kept) != len(items) else items

    def grants_with_ids(self, items: Sequence[Grant]) -> tuple[list[Grant], list[GrantIds]]:
        """The grants kept, and the ids each was checked by (the store's columns, read once)."""
        # A hot path (one call per grant page): read each nested field once, and look at
        # annotations only for the grants that have any.
        kept = []
        ids: list[GrantIds] = []
        stored = self.stored_types
        full_sync = self.full_sync
        for grant in items:
            entitlement = grant.entitlement
            target = entitlement.resource.id
            principal_id = grant.principal.id
            grant_id, entitlement_id, principal = grant.id, entitlement.id, principal_id.resource
            if not grant_id or not entitlement_id or not principal:
                self.dropped["grant without an id, entitlement or principal"] += 1
                continue
            target_type, principal_type = target.resource_type, principal_id.resource_type
            annotations = grant.annotations
            if full_sync:
                if target_type not in stored or (
                    principal_type not in stored and not has_any(annotations, EXTERNAL_RESOURCE_MATCH)
                ):
                    self.dropped["grant naming a resource type not in the sync"] += 1
                    continue
                if annotations:
                    grant = self._narrow_expandable(grant)
            if annotations and not self.saw_expandable:
                self.saw_expandable = has_any(grant.annotations, GRANT_EXPANDABLE)
            kept.append(grant)
            ids.append((target_type, target.resource, entitlement_id, principal_type, principal, grant_id))
        return kept, ids

    def _narrow_expandable(self, grant: Grant) -> Grant:
        """Keep only stored types in GrantExpandable.resource_type_ids; empty means "all", so drop it."""
        for index, annotation in enumerate(grant.annotations):
            if annotation.type_url != GRANT_EXPANDABLE:
                continue
            expandable = annotation_grant_pb2.GrantExpandable()
            annotation.Unpack(expandable)
            wanted = list(expandable.resource_type_ids)
            narrowed = [t for t in wanted if t in self.stored_types]
            if narrowed == wanted:
                return grant
            copy = Grant()
            copy.CopyFrom(grant)
            if narrowed:
                del expandable.resource_type_ids[:]
                expandable.resource_type_ids.extend(narrowed)
                copy.annotations[index].Pack(expandable)
            else:
                del copy.annotations[index]
            return copy
        return grant

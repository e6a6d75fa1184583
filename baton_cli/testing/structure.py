"""Checks of what one walk saw: listings, ids, traits, parents, entitlements and grants."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from baton_cli.annotations import EXTERNAL_RESOURCE_MATCH, GRANT_EXPANDABLE, has_any
from baton_cli.connector.api import Grant
from baton_cli.core.traits import check_trait
from baton_cli.errors import BatonError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2
from baton_cli.testing.walk import Observed, key_of, shown


def resource_types_list(observed: Observed) -> list[str]:
    problems = list(observed.syncer_problems)
    for type_id, syncer in observed.syncers.items():
        if not syncer.resource_type.display_name:
            problems.append(f"resource type {type_id!r} has no display_name")
    problems += [listing.error for listing in observed.listings if listing.error]
    return problems


def listings_terminate(observed: Observed) -> list[str]:
    return [listing.endless for listing in observed.listings if listing.endless]


def resource_ids_unique(observed: Observed) -> list[str]:
    problems = []
    for type_id, resources in observed.resources.items():
        counts = Counter(r.id.resource for r in resources)
        problems += [f"resource {type_id}:{rid} is listed {n} times" for rid, n in counts.items() if n > 1]
        problems += [
            f"a resource listed for type {type_id!r} has id type {r.id.resource_type!r}"
            f" ({r.id.resource_type}:{r.id.resource})"
            for r in resources
            if r.id.resource_type != type_id
        ]
        problems += [
            f"a resource of type {type_id!r} has an empty id" for r in resources if not r.id.resource
        ]
    return problems


def resources_carry_traits(observed: Observed) -> list[str]:
    problems = []
    for type_id, resources in observed.resources.items():
        resource_type = observed.syncers[type_id].resource_type
        for resource in resources:
            try:
                check_trait(resource_type, resource)
            except BatonError as error:
                problems.append(str(error))
    return problems


def parents_exist(observed: Observed) -> list[str]:
    known = observed.resource_keys()
    problems = []
    for resources in observed.resources.values():
        for resource in resources:
            if resource.HasField("parent_resource_id") and resource.parent_resource_id.resource:
                parent = key_of(resource.parent_resource_id)
                if parent not in known:
                    problems.append(
                        f"resource {shown(key_of(resource.id))} names parent {shown(parent)}, "
                        "which no listing returned"
                    )
    return problems


def child_types_walked(observed: Observed) -> list[str]:
    return [
        f"resource {shown(owner)} declares child resource type {child!r}, which has no resource syncer"
        for owner, child in observed.child_types
        if child not in observed.syncers
    ]


def entitlements_belong(observed: Observed) -> list[str]:
    problems = []
    counts = Counter(e.id for _owner, e in observed.entitlements)
    problems += [f"entitlement {eid!r} is listed {n} times" for eid, n in counts.items() if n > 1]
    for owner, entitlement in observed.entitlements:
        on = key_of(entitlement.resource.id)
        if on != owner:
            problems.append(
                f"entitlement {entitlement.id!r} was listed for {shown(owner)} but names resource {shown(on)}"
            )
        prefix = f"{owner[0]}:{owner[1]}:"
        if not entitlement.id.startswith(prefix) or len(entitlement.id) == len(prefix):
            problems.append(
                f"entitlement id {entitlement.id!r} does not follow the upstream layout "
                f"'{prefix}<slug>' (use builders.entitlement)"
            )
        elif entitlement.slug and entitlement.id != prefix + entitlement.slug:
            problems.append(f"entitlement {entitlement.id!r} has slug {entitlement.slug!r}, not its id's")
    return problems


def _external(grant: Grant, external_types: Collection[str]) -> bool:
    return grant.principal.id.resource_type in external_types or has_any(
        grant.annotations, EXTERNAL_RESOURCE_MATCH
    )


def grants_reference_known_objects(observed: Observed, external_types: Collection[str]) -> list[str]:
    entitlements = observed.entitlement_ids()
    resources = observed.resource_keys()
    problems = []
    for owner, grant in observed.grants:
        if grant.entitlement.id not in entitlements:
            problems.append(
                f"grant {grant.id!r} names entitlement {grant.entitlement.id!r}, which was not listed"
            )
        on = key_of(grant.entitlement.resource.id)
        if on != owner:
            problems.append(
                f"grant {grant.id!r} was listed for {shown(owner)} but its entitlement is on {shown(on)}"
            )
        principal = key_of(grant.principal.id)
        if principal not in resources and not _external(grant, external_types):
            problems.append(
                f"grant {grant.id!r} names principal {shown(principal)}, which no listing returned "
                "(an external principal needs an ExternalResourceMatch annotation "
                "or external_principal_types)"
            )
        expected = f"{grant.entitlement.id}:{principal[0]}:{principal[1]}"
        if grant.id != expected:
            problems.append(f"grant id {grant.id!r} does not follow the upstream layout {expected!r}")
    return problems


def expandable_targets_exist(observed: Observed) -> list[str]:
    entitlements = observed.entitlement_ids()
    problems = []
    for _owner, grant in observed.grants:
        for annotation in grant.annotations:
            if annotation.type_url != GRANT_EXPANDABLE:
                continue
            expandable = annotation_grant_pb2.GrantExpandable()
            annotation.Unpack(expandable)
            if not expandable.entitlement_ids:
                problems.append(f"grant {grant.id!r} is GrantExpandable with no entitlement ids")
            problems += [
                f"grant {grant.id!r} expands from entitlement {eid!r}, which was not listed"
                for eid in expandable.entitlement_ids
                if eid not in entitlements
            ]
    return problems


def no_duplicate_grants(observed: Observed) -> list[str]:
    ids = Counter(g.id for _owner, g in observed.grants)
    pairs = Counter((g.entitlement.id, shown(key_of(g.principal.id))) for _owner, g in observed.grants)
    problems = [f"grant {gid!r} is listed {n} times" for gid, n in ids.items() if n > 1]
    problems += [
        f"entitlement {eid!r} is granted to {principal} {n} times (different grant ids)"
        for (eid, principal), n in pairs.items()
        if n > 1 and ids[f"{eid}:{principal}"] < n
    ]
    return problems

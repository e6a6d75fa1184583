"""Objects written by C1ZWriter come back identical through C1ZReader."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, entitlement_pb2, grant_pb2, resource_pb2
from tests import strategies as s

EXPANDABLE = annotation_grant_pb2.GrantExpandable.DESCRIPTOR


def _without_expandable(
    grant: grant_pb2.Grant,
) -> tuple[grant_pb2.Grant, annotation_grant_pb2.GrantExpandable | None]:
    """The grant minus every GrantExpandable annotation, and the first one if it names an entitlement."""
    plain = grant_pb2.Grant()
    plain.CopyFrom(grant)
    del plain.annotations[:]
    first: annotation_grant_pb2.GrantExpandable | None = None
    for ann in grant.annotations:
        if ann.Is(EXPANDABLE):
            if first is None:
                first = annotation_grant_pb2.GrantExpandable()
                ann.Unpack(first)
        else:
            plain.annotations.append(ann)
    if first is not None and not any(e.strip() for e in first.entitlement_ids):
        first = None
    return plain, first


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resource_types=st.lists(s.resource_types, max_size=4, unique_by=lambda r: r.id),
    resources=st.lists(s.resources, max_size=6, unique_by=s.resource_key),
    entitlements=st.lists(s.entitlements, max_size=4, unique_by=lambda e: e.id),
    grants=st.lists(s.grants, max_size=6, unique_by=lambda g: g.id),
)
def test_round_trip(
    resource_types: list[resource_pb2.ResourceType],
    resources: list[resource_pb2.Resource],
    entitlements: list[entitlement_pb2.Entitlement],
    grants: list[grant_pb2.Grant],
) -> None:
    originals = [g.SerializeToString(deterministic=True) for g in grants]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rt.c1z"
        with C1ZWriter.open(path, tmp_dir=tmp) as writer:
            sync_id = writer.start_sync()
            assert writer.put_resource_types(resource_types) == len(resource_types)
            assert writer.put_resources(iter(resources)) == len(resources)
            assert writer.put_entitlements(entitlements) == len(entitlements)
            assert writer.put_grants(grants) == len(grants)
            writer.end_sync()
            writer.save()
        # The writer must not modify the caller's messages while stripping annotations.
        assert [g.SerializeToString(deterministic=True) for g in grants] == originals

        with C1ZReader.open(path, tmp_dir=tmp) as reader:
            assert reader.pick_sync().sync_id == sync_id
            assert list(reader.resource_types(sync_id)) == resource_types
            assert list(reader.resources(sync_id)) == resources
            assert list(reader.entitlements(sync_id)) == entitlements

            split = [_without_expandable(g) for g in grants]
            assert list(reader.grants(sync_id)) == [plain for plain, _ in split]
            for got, (plain, expandable) in zip(
                reader.grants(sync_id, with_expansion=True), split, strict=True
            ):
                if expandable is None:
                    assert got == plain
                    continue
                reattached = annotation_grant_pb2.GrantExpandable()
                assert got.annotations[-1].Unpack(reattached)
                assert reattached == expandable
                del got.annotations[-1]
                assert got == plain

            for type_id in {r.id.resource_type for r in resources}:
                expected = [r for r in resources if r.id.resource_type == type_id]
                assert list(reader.resources(sync_id, resource_type_id=type_id)) == expected
            for ent in entitlements:
                rid = ent.resource.id
                got_ents = list(
                    reader.entitlements(sync_id, resource_type_id=rid.resource_type, resource_id=rid.resource)
                )
                assert ent in got_ents
            for grant in grants:
                p = grant.principal.id
                hits = list(
                    reader.grants(
                        sync_id,
                        entitlement_id=grant.entitlement.id,
                        principal_type_id=p.resource_type,
                        principal_id=p.resource,
                    )
                )
                assert grant.id in {h.id for h in hits}

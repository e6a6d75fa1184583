from __future__ import annotations

from pathlib import Path

from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.c1z import C1ZWriter
from baton_cli.pb.c1.connector.v2 import (
    annotation_baton_id_pb2,
    annotation_exclusion_group_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)
from tests.c1z.helpers import open_db


def _res(type_id: str, rid: str) -> resource_pb2.Resource:
    return resource_pb2.Resource(id=resource_pb2.ResourceId(resource_type=type_id, resource=rid))


def _ent(resource: resource_pb2.Resource, slug: str, *annotations: object) -> entitlement_pb2.Entitlement:
    packed = []
    for message in annotations:
        value = AnyPb()
        value.Pack(message)  # type: ignore[arg-type]
        packed.append(value)
    rid = resource.id
    return entitlement_pb2.Entitlement(
        id=f"{rid.resource_type}:{rid.resource}:{slug}", resource=resource, slug=slug, annotations=packed
    )


def _grant(
    ent: entitlement_pb2.Entitlement, principal: resource_pb2.Resource, external: bool = False
) -> grant_pb2.Grant:
    annotations = []
    if external:
        value = AnyPb()
        value.Pack(annotation_baton_id_pb2.ExternalResourceMatchID(id="x"))
        annotations.append(value)
    pid = principal.id
    return grant_pb2.Grant(
        id=f"{ent.id}:{pid.resource_type}:{pid.resource}",
        entitlement=ent,
        principal=principal,
        annotations=annotations,
    )


def test_referential_checks_count_dangling_rows(tmp_path: Path) -> None:
    group, ghost_group, alice, ghost = (
        _res("group", "g1"),
        _res("group", "gone"),
        _res("user", "a"),
        _res("user", "x"),
    )
    member = _ent(group, "member")
    orphan_ent = _ent(ghost_group, "member")  # I7: its resource is not stored
    with C1ZWriter.open(tmp_path / "f.c1z") as writer:
        writer.start_sync()
        writer.put_resources([group, alice])
        writer.put_entitlements([member, orphan_ent])
        writer.put_grants(
            [
                _grant(member, alice),
                _grant(member, ghost),  # I9
                _grant(member, _res("user", "ext"), external=True),  # exempt from I9
                _grant(_ent(group, "owner"), alice),  # I8: entitlement not stored
            ]
        )
        report = writer.check_invariants()
        assert report.warnings == {"I7": 1, "I8": 1, "I9": 1}
        assert report.failures == ()
        sync_id = writer.sync_id
        assert sync_id is not None
        writer.end_sync()
        writer.mark_invariants_verified(sync_id)
        writer.save()
    with open_db(tmp_path / "f.c1z", tmp_path / "scratch") as conn:
        row = conn.execute(
            "SELECT ingest_invariant_generation, ingest_invariant_coverage, ingest_invariant_mode"
            " FROM v1_sync_runs"
        ).fetchone()
    assert row == ("1", '["I5","I7","I8","I9"]', "connector")


def test_exclusion_groups_fail_on_two_defaults_or_mixed_types(tmp_path: Path) -> None:
    g1, g2, app = _res("group", "g1"), _res("group", "g2"), _res("app", "a1")

    def excl(group: str, default: bool) -> annotation_exclusion_group_pb2.EntitlementExclusionGroup:
        return annotation_exclusion_group_pb2.EntitlementExclusionGroup(
            exclusion_group_id=group, is_default=default
        )

    with C1ZWriter.open(tmp_path / "f.c1z") as writer:
        writer.start_sync()
        writer.put_resources([g1, g2, app])
        writer.put_entitlements(
            [
                _ent(g1, "a", excl("tiers", True)),
                _ent(g2, "b", excl("tiers", True)),
                _ent(g1, "c", excl("mixed", False)),
                _ent(app, "d", excl("mixed", False)),
                _ent(g2, "e", excl("fine", True)),
            ]
        )
        failures = writer.check_invariants().failures
        writer.abort()
    assert len(failures) == 2
    assert "exclusion group 'mixed' spans resource types app, group" in failures
    assert any(f.startswith("exclusion group 'tiers' has 2 defaults") for f in failures)

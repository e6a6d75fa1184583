"""put_grants with the ids the sync engine already read gives the rows put_grants derives itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from google.protobuf import any_pb2

from baton_cli.c1z import C1ZWriter, rows
from baton_cli.errors import UsageError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, entitlement_pb2, grant_pb2, resource_pb2


def _grants() -> list[grant_pb2.Grant]:
    team = resource_pb2.Resource(id=resource_pb2.ResourceId(resource_type="team", resource="t1"))
    member = entitlement_pb2.Entitlement(resource=team, id="team:t1:member", slug="member")
    out = []
    for name in ("alice", "bob"):
        user = resource_pb2.Resource(id=resource_pb2.ResourceId(resource_type="user", resource=name))
        out.append(grant_pb2.Grant(entitlement=member, principal=user, id=f"team:t1:member:user:{name}"))
    expandable = any_pb2.Any()
    expandable.Pack(annotation_grant_pb2.GrantExpandable(entitlement_ids=["team:t0:member"]))
    out[1].annotations.append(expandable)  # the expansion columns come out of the annotation
    return out


def _ids(grant: grant_pb2.Grant) -> rows.GrantIds:
    return rows.grant_row(grant, "", "")[:6]  # type: ignore[return-value]


def _stored(tmp_path: Path, name: str, *, with_ids: bool) -> list[tuple[object, ...]]:
    path = tmp_path / f"{name}.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        writer.start_sync()
        grants = _grants()
        assert writer.put_grants(grants, [_ids(g) for g in grants] if with_ids else None) == 2
        conn: sqlite3.Connection = writer._conn
        found = conn.execute(
            "SELECT resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
            " principal_resource_id, external_id, expansion, needs_expansion, data FROM v1_grants ORDER BY id"
        ).fetchall()
        writer.abort()
    return found


def test_rows_from_given_ids_equal_the_derived_rows(tmp_path: Path) -> None:
    derived = _stored(tmp_path, "a", with_ids=False)
    assert derived[1][6] and derived[1][7] == 1  # the expandable grant's expansion columns
    assert _stored(tmp_path, "b", with_ids=True) == derived


def test_ids_must_match_the_grants_one_for_one(tmp_path: Path) -> None:
    with C1ZWriter.open(tmp_path / "c.c1z", tmp_dir=tmp_path) as writer:
        writer.start_sync()
        grants = _grants()
        with pytest.raises(UsageError, match="2 grants but 1 id tuples"):
            writer.put_grants(grants, [_ids(grants[0])])
        writer.abort()

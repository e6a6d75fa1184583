"""C1ZWriter: row derivations, upserts, atomic save, multiple syncs, stats."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from google.protobuf import any_pb2

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.c1z.ksuid import ksuid_unix_seconds
from baton_cli.errors import (
    FailedPreconditionError,
    NotFoundError,
    ResourceExhaustedError,
    UsageError,
)
from baton_cli.pb.c1.connector.v2 import (
    annotation_grant_pb2,
    annotation_trait_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)
from tests.c1z.helpers import NEWEST_V1_FIXTURE, fixture, open_db

TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])?$"


def _rid(type_id: str, rid: str) -> resource_pb2.ResourceId:
    return resource_pb2.ResourceId(resource_type=type_id, resource=rid)


def _resource(
    type_id: str, rid: str, parent: tuple[str, str] | None = None, name: str = ""
) -> resource_pb2.Resource:
    res = resource_pb2.Resource(id=_rid(type_id, rid), display_name=name or rid)
    if parent:
        res.parent_resource_id.CopyFrom(_rid(*parent))
    return res


def _entitlement(res: resource_pb2.Resource, slug: str) -> entitlement_pb2.Entitlement:
    return entitlement_pb2.Entitlement(
        resource=res, id=f"{res.id.resource_type}:{res.id.resource}:{slug}", display_name=slug, slug=slug
    )


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _grant(
    ent: entitlement_pb2.Entitlement, principal: resource_pb2.Resource, *annotations: object
) -> grant_pb2.Grant:
    pid = principal.id
    return grant_pb2.Grant(
        entitlement=ent,
        principal=principal,
        id=f"{ent.id}:{pid.resource_type}:{pid.resource}",
        annotations=[_pack(a) for a in annotations],
    )


TEAM = _resource("team", "t1")
ALICE = _resource("user", "alice", parent=("org", "o1"))
MEMBER = _entitlement(TEAM, "member")


def _write(
    path: Path, tmp: Path, *, sync_type: str = "full", grants: list[grant_pb2.Grant] | None = None
) -> str:
    with C1ZWriter.open(path, tmp_dir=tmp) as writer:
        sync_id = writer.start_sync(sync_type)
        writer.put_resource_types(
            [resource_pb2.ResourceType(id="user"), resource_pb2.ResourceType(id="team")]
        )
        writer.put_resources([TEAM, ALICE])
        writer.put_entitlements([MEMBER])
        writer.put_grants(grants if grants is not None else [_grant(MEMBER, ALICE)])
        writer.end_sync()
        writer.save()
    return sync_id


def test_rows_follow_the_column_derivations(tmp_path: Path) -> None:
    expandable = annotation_grant_pb2.GrantExpandable(entitlement_ids=["team:t0:member"])
    immutable = annotation_grant_pb2.GrantImmutable(source_id="src")
    grant = _grant(MEMBER, ALICE, immutable, expandable)
    path = tmp_path / "rows.c1z"
    sync_id = _write(path, tmp_path, grants=[grant])
    with open_db(path, tmp_path / "db") as conn:
        run = conn.execute(
            "SELECT sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id, linked_sync_id,"
            " supports_diff, grants_backfilled, stats FROM v1_sync_runs"
        ).fetchone()
        assert run[0] == sync_id and len(sync_id) == 27
        assert abs(ksuid_unix_seconds(sync_id) - os.path.getmtime(path)) < 60
        assert run[3:9] == ("", "full", "", "", 1, 1)
        assert run[1] <= run[2]
        for stamp in (
            run[1],
            run[2],
            *(r[0] for r in conn.execute("SELECT discovered_at FROM v1_resources")),
        ):
            assert re.match(TIMESTAMP, stamp), stamp

        rows = conn.execute(
            "SELECT resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data, sync_id"
            " FROM v1_resources ORDER BY id"
        ).fetchall()
        assert rows == [
            ("team", "team:t1", None, None, TEAM.SerializeToString(deterministic=True), sync_id),
            ("user", "user:alice", "org", "o1", ALICE.SerializeToString(deterministic=True), sync_id),
        ]
        assert conn.execute(
            "SELECT resource_type_id, resource_id, external_id, data FROM v1_entitlements"
        ).fetchall() == [("team", "t1", "team:t1:member", MEMBER.SerializeToString(deterministic=True))]
        stored = conn.execute(
            "SELECT resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
            " principal_resource_id, external_id, expansion, needs_expansion, data FROM v1_grants"
        ).fetchone()
        stripped = _grant(MEMBER, ALICE, immutable)
        assert stored == (
            "team",
            "t1",
            "team:t1:member",
            "user",
            "alice",
            "team:t1:member:user:alice",
            expandable.SerializeToString(deterministic=True),
            1,
            stripped.SerializeToString(deterministic=True),
        )


def test_grant_upsert_follows_expansion_rule_3(tmp_path: Path) -> None:
    first = annotation_grant_pb2.GrantExpandable(entitlement_ids=["team:t0:member"])
    second = annotation_grant_pb2.GrantExpandable(entitlement_ids=["team:t9:member"])
    blank = annotation_grant_pb2.GrantExpandable(entitlement_ids=[" ", ""])
    with C1ZWriter.open(tmp_path / "x.c1z", tmp_dir=tmp_path) as writer:
        writer.start_sync()
        conn: sqlite3.Connection = writer._conn  # white-box: expansion columns are not in the read API

        def state() -> tuple[bytes | None, int]:
            return conn.execute("SELECT expansion, needs_expansion FROM v1_grants").fetchone()  # type: ignore[no-any-return]

        writer.put_grants([_grant(MEMBER, ALICE)])
        assert state() == (None, 0)  # rule 1
        writer.put_grants([_grant(MEMBER, ALICE, first)])
        assert state() == (first.SerializeToString(), 1)  # NULL -> value
        conn.execute("UPDATE v1_grants SET needs_expansion = 0")  # as if expansion processed it
        writer.put_grants([_grant(MEMBER, ALICE, first)])
        assert state() == (first.SerializeToString(), 0)  # unchanged: keeps the old flag
        writer.put_grants([_grant(MEMBER, ALICE, second)])
        assert state() == (second.SerializeToString(), 1)  # changed bytes
        writer.put_grants([_grant(MEMBER, ALICE, blank)])
        assert state() == (None, 0)  # only blank ids: no expansion (rule 2)
        assert conn.execute("SELECT count(*) FROM v1_grants").fetchone() == (1,)
        writer.abort()


def test_upsert_replaces_data_and_keeps_one_row(tmp_path: Path) -> None:
    path = tmp_path / "u.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        sync_id = writer.start_sync()
        writer.put_resources([_resource("user", "alice", name="Old")])
        writer.checkpoint()
        writer.put_resources([_resource("user", "alice", name="New"), _resource("user", "bob")])
        writer.put_resource_types([resource_pb2.ResourceType(id="user", display_name=n) for n in ("A", "B")])
        writer.put_entitlements([MEMBER, _entitlement(_resource("team", "t1", name="renamed"), "member")])
        writer.end_sync()
        writer.save()
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        assert [r.display_name for r in reader.resources(sync_id)] == ["New", "bob"]
        assert [t.display_name for t in reader.resource_types(sync_id)] == ["B"]
        assert [e.resource.display_name for e in reader.entitlements(sync_id)] == ["renamed"]


def test_stats_are_computed_and_stored(tmp_path: Path) -> None:
    path = tmp_path / "s.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        writer.start_sync()
        writer.put_resource_types([resource_pb2.ResourceType(id=t) for t in ("user", "team", "app")])
        writer.put_resources([TEAM, ALICE, _resource("user", "bob"), _resource("ghost", "g1")])
        writer.put_entitlements([MEMBER])
        writer.put_grants([_grant(MEMBER, ALICE), _grant(MEMBER, _resource("user", "bob"))])
        stats = writer.end_sync()
        writer.save()
    assert stats == {
        "resource_types": 3,
        "resources": 3,  # the uncatalogued "ghost" type is not counted
        "entitlements": 1,
        "grants": 2,
        "resources_by_resource_type": {"app": 0, "team": 1, "user": 2},
        "grants_by_resource_type": {"team": 2},
        "entitlements_by_resource_type": {"team": 1},
    }
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        assert reader.pick_sync().stats == stats
    with open_db(path, tmp_path / "db") as conn:
        text = conn.execute("SELECT stats FROM v1_sync_runs").fetchone()[0]
    assert " " not in text and list(json.loads(text)) == list(stats)


def test_resources_only_stats_omit_entitlements_and_grants(tmp_path: Path) -> None:
    with C1ZWriter.open(tmp_path / "r.c1z", tmp_dir=tmp_path) as writer:
        writer.start_sync("resources_only")
        writer.put_resource_types([resource_pb2.ResourceType(id="team")])
        writer.put_resources([TEAM])
        writer.put_entitlements([MEMBER])
        stats = writer.end_sync()
        writer.abort()
    assert stats == {"resource_types": 1, "resources": 1, "resources_by_resource_type": {"team": 1}}


def test_copying_the_newest_upstream_file_reproduces_its_rows_and_stats(tmp_path: Path) -> None:
    source = fixture(NEWEST_V1_FIXTURE)
    copy = tmp_path / "copy.c1z"
    with C1ZReader.open(source, tmp_dir=tmp_path) as reader, C1ZWriter.open(copy, tmp_dir=tmp_path) as writer:
        sync_id = reader.pick_sync().sync_id
        writer.start_sync()
        writer.put_resource_types(reader.resource_types(sync_id))
        writer.put_resources(reader.resources(sync_id))
        writer.put_entitlements(reader.entitlements(sync_id))
        writer.put_grants(reader.grants(sync_id, with_expansion=True))
        writer.end_sync()
        writer.save()
    with open_db(source, tmp_path / "theirs") as theirs, open_db(copy, tmp_path / "ours") as ours:
        for table, cols in (
            ("v1_resource_types", "external_id, data"),
            (
                "v1_resources",
                "resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data",
            ),
            ("v1_entitlements", "resource_type_id, resource_id, external_id, data"),
            (
                "v1_grants",
                "resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
                " principal_resource_id, external_id, expansion, needs_expansion, data",
            ),
        ):
            sql = f"SELECT {cols} FROM {table} ORDER BY id"
            assert ours.execute(sql).fetchall() == theirs.execute(sql).fetchall(), table
        stats_sql = "SELECT stats FROM v1_sync_runs"
        assert ours.execute(stats_sql).fetchone() == theirs.execute(stats_sql).fetchone()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_save_leaves_the_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    out_dir, work = tmp_path / "out", tmp_path / "work"
    out_dir.mkdir()
    work.mkdir()
    target = out_dir / "sync.c1z"
    _write(target, work)
    before = _snapshot(out_dir)

    writer = C1ZWriter.open(target, tmp_dir=work)
    writer.start_sync()
    writer.put_resources([_resource("user", f"u{i}") for i in range(2000)])

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(ResourceExhaustedError) as info:  # a full disk: exit 8, naming the place
        writer.save()
    monkeypatch.undo()
    assert "sync.c1z" in str(info.value) and "\n" not in str(info.value)
    assert f"no space left in {out_dir}" in str(info.value)
    assert _snapshot(out_dir) == before
    assert list(work.iterdir()) == []
    with pytest.raises(FailedPreconditionError):
        writer.put_resources([])


def test_abort_and_exceptions_leave_the_target_untouched(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / "sync.c1z"
    _write(target, work)
    before = target.read_bytes()

    writer = C1ZWriter.open(target, tmp_dir=work)
    writer.start_sync()
    writer.put_resources([ALICE])
    writer.abort()
    writer.abort()  # idempotent
    assert target.read_bytes() == before and list(work.iterdir()) == []

    with pytest.raises(RuntimeError), C1ZWriter.open(target, tmp_dir=work) as failing:
        failing.start_sync()
        raise RuntimeError("connector blew up")
    assert target.read_bytes() == before and list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sync.c1z", "work"]


def test_new_file_is_only_created_by_save(tmp_path: Path) -> None:
    target = tmp_path / "new.c1z"
    writer = C1ZWriter.open(target, tmp_dir=tmp_path)
    writer.start_sync()
    assert not target.exists()
    size = writer.save()
    assert target.stat().st_size == size
    with pytest.raises(FailedPreconditionError):
        writer.save()


def test_reopen_adds_a_second_sync_and_pick_prefers_the_latest_finished_full(tmp_path: Path) -> None:
    path = tmp_path / "multi.c1z"
    first = _write(path, tmp_path)
    second = _write(path, tmp_path, grants=[])
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        third = writer.start_sync("partial", parent_sync_id=second)
        writer.put_resources([_resource("user", "carol")])
        writer.end_sync()
        unfinished = writer.start_sync()
        writer.put_resources([_resource("user", "dave")])
        writer.save()
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        runs = reader.syncs()
        assert [r.sync_id for r in runs] == [first, second, third, unfinished]
        assert [r.finished for r in runs] == [True, True, True, False]
        assert runs[2].sync_type == "partial" and runs[2].parent_sync_id == second
        # Latest finished *full* sync wins over a newer partial and a newer unfinished one.
        assert reader.pick_sync().sync_id == second
        assert reader.counts(first).grants == 1 and reader.counts(second).grants == 0
        assert [r.id.resource for r in reader.resources(third)] == ["carol"]
        assert reader.pick_sync(unfinished).sync_id == unfinished
        with pytest.raises(NotFoundError):
            reader.pick_sync("0" * 27)


def test_store_reads_mid_sync(tmp_path: Path) -> None:
    with C1ZWriter.open(tmp_path / "m.c1z", tmp_dir=tmp_path) as writer:
        sync_id = writer.start_sync()
        writer.put_grants([_grant(MEMBER, ALICE)])
        store = writer.store
        assert [g.id for g in store.grants(sync_id, principal_id="alice")] == ["team:t1:member:user:alice"]
        assert store.pick_sync().sync_id == sync_id
        assert "idx_grants_principal_id_v1" in store.index_names()
        writer.put_grants([_grant(MEMBER, _resource("user", "bob"))])
        assert store.counts(sync_id).grants == 2
        writer.abort()


def test_resource_cursor_and_lookup_for_the_sync_engine(tmp_path: Path) -> None:
    path = tmp_path / "c.c1z"
    _write(path, tmp_path)  # an earlier sync whose resources must not leak into the new one
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        with pytest.raises(FailedPreconditionError):
            writer.resources_after(0, 10)
        writer.start_sync()
        users = [_resource("user", f"u{i}") for i in range(5)]
        writer.put_resources(users)
        first = writer.resources_after(0, 3)
        assert [r for _, r in first] == users[:3]
        rest = writer.resources_after(first[-1][0], 3)
        assert [r for _, r in rest] == users[3:]
        assert writer.resources_after(rest[-1][0], 3) == []
        assert writer.get_resource("user", "u4") == users[4]
        assert writer.get_resource("user", "alice") is None  # only in the earlier sync
        assert writer.get_resource("team", "u4") is None
        writer.abort()


def test_grant_indexes_are_deferred_until_grants_are_read(tmp_path: Path) -> None:
    def grant_indexes(conn: sqlite3.Connection) -> set[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'v1_grants'")
        return {r[0] for r in rows}

    with C1ZWriter.open(tmp_path / "d.c1z", tmp_dir=tmp_path) as writer:
        conn: sqlite3.Connection = writer._conn  # white-box: which indexes exist right now
        writer.start_sync()
        writer.put_resources([ALICE])
        writer.resources_after(0, 10)  # the engine's resource walk must not trigger the build
        assert grant_indexes(conn) == {"idx_grants_external_sync_v1"}  # the upsert target only
        writer.put_grants([_grant(MEMBER, ALICE)])
        list(writer.store.grants(writer.sync_id or ""))
        assert len(grant_indexes(conn)) == 7
        writer.abort()


def test_misuse_is_reported(tmp_path: Path) -> None:
    with C1ZWriter.open(tmp_path / "e.c1z", tmp_dir=tmp_path) as writer:
        assert writer.sync_id is None
        with pytest.raises(FailedPreconditionError):
            writer.put_resources([ALICE])
        with pytest.raises(UsageError):
            writer.start_sync("weekly")
        sync_id = writer.start_sync()
        assert writer.sync_id == sync_id
        with pytest.raises(FailedPreconditionError):
            writer.start_sync()
        writer.set_sync_token('{"version":1}')
        writer.end_sync()
        with pytest.raises(FailedPreconditionError):
            writer.put_grants([])
        assert writer.store.pick_sync().sync_token == '{"version":1}'
        writer.abort()
    with pytest.raises(NotFoundError):
        C1ZWriter.open(tmp_path / "missing-dir" / "x.c1z")
    with pytest.raises(NotFoundError):
        C1ZWriter.open(tmp_path / "x.c1z", tmp_dir=tmp_path / "missing-tmp")


def test_user_trait_annotations_survive(tmp_path: Path) -> None:
    user = _resource("user", "erin")
    user.annotations.append(_pack(annotation_trait_pb2.UserTrait(login="erin", emails=[{"address": "e@x"}])))
    path = tmp_path / "t.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        sync_id = writer.start_sync()
        writer.put_resources([user])
        writer.end_sync()
        writer.save()
    with C1ZReader.open(path, tmp_dir=tmp_path) as reader:
        [got] = reader.resources(sync_id)
        trait = annotation_trait_pb2.UserTrait()
        assert got.annotations[0].Unpack(trait) and trait.login == "erin"

"""The floors of bench/run.py: the bare cost of the same work, without the engine around it.

Each is run as its own process (``python bench/floors.py KIND ...``) so that its wall time,
CPU time and peak RSS are measured exactly as ``baton``'s are, interpreter start-up included.

- ``sync``: the demo connector's same objects are built by calling its syncers directly,
  serialised (deterministic protobuf), inserted into a fresh SQLite database with the
  upstream schema and indexes in one transaction, and the file compressed with zstd level 1.
- ``expand INPUT EXPANDED``: the grants expansion added (or changed) in ``EXPANDED`` are
  built again as messages from their parts (entitlement, principal, id, GrantImmutable,
  sources), serialised and upserted into a copy of ``INPUT``'s database, then compressed
  with zstd level 1 - the writing half of the work with the graph walk taken out.
- ``json FILE``: the rows ``baton grants -o json`` reads (the same joined query) are read,
  every protobuf in them parsed, and each element written with the fastest encoder at hand
  (orjson when installed, else json) from dicts converted once per distinct message - the
  grant's own fields (id, sources, annotations) as plain values.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from baton_cli.c1z.container import decompress_v1, write_v1  # noqa: E402
from baton_cli.c1z.schema import INDEXES, TABLES  # noqa: E402


def _schema(conn: sqlite3.Connection) -> None:
    for table in TABLES:
        conn.execute(table.create_sql())
    for index in INDEXES:
        conn.execute(index.create_sql())


def _compress(db: Path, out: Path) -> int:
    with db.open("rb") as source, out.open("wb") as target:
        target.write(b"C1ZF\x00")
        zstandard.ZstdCompressor(level=1).copy_stream(source, target)
    return out.stat().st_size


def _pages(listing: Any) -> Any:
    token = ""
    while True:
        page = listing(token)
        yield page.items
        if not page.next_token:
            return
        token = page.next_token


def floor_sync(users: int, groups: int, memberships: int, roles: int, out: Path) -> None:
    from baton_cli.c1z import rows
    from baton_cli.connector.api import Resource
    from baton_cli.connector.demo.connector import DemoConnector
    from baton_cli.connector.demo.model import Sizes

    connector = DemoConnector(Sizes(users, groups, memberships, roles), 100)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        db = Path(tmp) / "floor.db"
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        _schema(conn)
        conn.execute("BEGIN")
        sync_id, now = "floor", "2026-01-01 00:00:00"
        syncers = connector.resource_syncers()
        conn.executemany(
            "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) VALUES (?, ?, ?, ?)",
            [rows.resource_type_row(s.resource_type, sync_id, now) for s in syncers],
        )
        for syncer in syncers:
            listed = []
            for items in _pages(lambda t, s=syncer: s.list(None, t)):
                conn.executemany(
                    "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id,"
                    " parent_resource_id, data, sync_id, discovered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [rows.resource_row(r, sync_id, now) for r in items],
                )
                listed.extend(r.id for r in items)
            for rid in listed:
                resource = Resource(id=rid)
                for items in _pages(lambda t, s=syncer, r=resource: s.entitlements(r, t)):
                    conn.executemany(
                        "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data,"
                        " sync_id, discovered_at) VALUES (?, ?, ?, ?, ?, ?)",
                        [rows.entitlement_row(e, sync_id, now) for e in items],
                    )
                for items in _pages(lambda t, s=syncer, r=resource: s.grants(r, t)):
                    conn.executemany(
                        "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id,"
                        " principal_resource_type_id, principal_resource_id, external_id, expansion,"
                        " needs_expansion, data, sync_id, discovered_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [rows.grant_row(g, sync_id, now) for g in items],
                    )
        conn.execute("COMMIT")
        conn.close()
        _compress(db, out)


def floor_expand(source: Path, expanded: Path, out: Path) -> None:
    from google.protobuf import any_pb2

    from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, entitlement_pb2, grant_pb2

    immutable = any_pb2.Any()
    immutable.Pack(annotation_grant_pb2.GrantImmutable())
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        before, after = Path(tmp) / "before.db", Path(tmp) / "after.db"
        decompress_v1(source, before, None)
        decompress_v1(expanded, after, None)
        # The parts of every grant expansion wrote: read apart, outside the timed work's spirit
        # (a floor may know its output); the messages are built again from them below.
        reader = sqlite3.connect(after)
        conn = sqlite3.connect(before, isolation_level=None)
        conn.execute("BEGIN")
        entitlements: dict[str, entitlement_pb2.Entitlement] = {}
        batch = []
        query = (
            "SELECT g.external_id, g.resource_type_id, g.resource_id, g.entitlement_id,"
            " g.principal_resource_type_id, g.principal_resource_id, g.data, e.data, g.sync_id"
            " FROM v1_grants g JOIN v1_entitlements e ON e.external_id = g.entitlement_id"
            " AND e.sync_id = g.sync_id"
        )
        for row in reader.execute(query):
            gid, rtype, rid, eid, ptype, pid, data, edata, sync_id = row
            parsed = grant_pb2.Grant.FromString(data)
            if not parsed.sources.sources:
                continue
            entitlement = entitlements.get(eid)
            if entitlement is None:
                entitlement = entitlements[eid] = entitlement_pb2.Entitlement.FromString(edata)
            grant = grant_pb2.Grant(
                id=gid,
                entitlement=entitlement,
                principal=parsed.principal,
            )
            for key, value in parsed.sources.sources.items():
                grant.sources.sources[key].is_direct = value.is_direct
            grant.annotations.append(immutable)
            batch.append(
                (
                    rtype,
                    rid,
                    eid,
                    ptype,
                    pid,
                    gid,
                    grant.SerializeToString(deterministic=True),
                    sync_id,
                    "now",
                )
            )
            if len(batch) >= 2000:
                _upsert(conn, batch)
                batch.clear()
        _upsert(conn, batch)
        conn.execute("COMMIT")
        conn.close()
        reader.close()
        write_v1(before, out)


def _upsert(conn: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
        " principal_resource_id, external_id, data, expansion, needs_expansion, sync_id, discovered_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)"
        " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
        batch,
    )


def floor_json(source: Path) -> None:
    try:
        import orjson

        def encode(value: object) -> bytes:
            return orjson.dumps(value)
    except ImportError:  # pragma: no cover - orjson is optional
        import json

        def encode(value: object) -> bytes:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    from google.protobuf.json_format import MessageToDict

    from baton_cli.cli.inspect_output import load_message_types
    from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

    load_message_types()
    cache: dict[bytes, dict[str, Any]] = {}

    def converted(message_type: Any, data: bytes | None) -> dict[str, Any] | None:
        if data is None:
            return None
        found = cache.get(data)
        if found is None:
            found = cache[data] = MessageToDict(message_type.FromString(data))
        return found

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "json.db"
        decompress_v1(source, db, None)
        conn = sqlite3.connect(db)
        types = {
            t.id: MessageToDict(t)
            for t in (
                resource_pb2.ResourceType.FromString(r[0])
                for r in conn.execute("SELECT data FROM v1_resource_types")
            )
        }
        out = sys.stdout.buffer
        out.write(b'{"grants":[')
        sql = (
            "SELECT g.data, g.resource_type_id, e.data, r.data, p.data FROM v1_grants g"
            " LEFT JOIN v1_entitlements e ON e.external_id = g.entitlement_id AND e.sync_id = g.sync_id"
            " LEFT JOIN v1_resources r"
            "  ON r.external_id = g.resource_type_id || ':' || g.resource_id AND r.sync_id = g.sync_id"
            " LEFT JOIN v1_resources p"
            "  ON p.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id"
            "  AND p.sync_id = g.sync_id ORDER BY g.id"
        )
        first = True
        for data, type_id, edata, rdata, pdata in conn.execute(sql):
            grant = grant_pb2.Grant.FromString(data)
            body: dict[str, Any] = {
                "entitlement": converted(entitlement_pb2.Entitlement, grant.entitlement.SerializeToString()),
                "principal": converted(resource_pb2.Resource, grant.principal.SerializeToString()),
                "id": grant.id,
            }
            if grant.sources.sources:
                body["sources"] = {
                    "sources": {
                        k: ({"isDirect": True} if v.is_direct else {})
                        for k, v in grant.sources.sources.items()
                    }
                }
            element = {
                "grant": body,
                "entitlement": converted(entitlement_pb2.Entitlement, edata),
                "resource": converted(resource_pb2.Resource, rdata),
                "resourceType": types.get(type_id),
                "principal": converted(resource_pb2.Resource, pdata),
            }
            out.write(b"\n" if first else b",\n")
            out.write(encode(element))
            first = False
        out.write(b"\n]}\n")
        conn.close()


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "sync":
        users, groups, memberships, roles = (int(a) for a in args[:4])
        floor_sync(users, groups, memberships, roles, Path(args[4]))
    elif kind == "expand":
        floor_expand(Path(args[0]), Path(args[1]), Path(args[2]))
    elif kind == "json":
        floor_json(Path(args[0]))
    else:
        raise SystemExit(f"unknown floor {kind!r}")


if __name__ == "__main__":
    main()

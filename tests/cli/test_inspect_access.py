"""``baton access``: direct and expanded grants of one principal, with the path of each expansion."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from baton_cli.cli.inspect_access import access_paths
from baton_cli.pb.c1.connector.v2 import grant_pb2
from tests.cli.test_inspect_support import fixture, grant, member, ok, resource, write_sync

ALICE = resource("user", "alice", "Alice")
ENG, ALL, OPS = (
    resource("group", "eng", "Engineering"),
    resource("group", "all", "Everyone"),
    resource("group", "ops"),
)
ENG_M, ALL_M, OPS_M = member(ENG), member(ALL), member(OPS)


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """alice is in eng; eng is in all; all is in ops; alice is also directly in ops."""
    path = tmp_path / "nested.c1z"
    grants = [
        grant(ENG_M, ALICE),
        grant(ALL_M, ENG),
        grant(OPS_M, ALL),
        # What grant expansion writes: alice inherits all (from eng) and ops (from all, and directly).
        grant(ALL_M, ALICE, sources=[ENG_M.id]),
        grant(OPS_M, ALICE, sources=[ALL_M.id, OPS_M.id]),
    ]
    write_sync(path, [ALICE, ENG, ALL, OPS], [ENG_M, ALL_M, OPS_M], grants)
    return path


def test_paths_lead_from_a_direct_grant(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = ok(capsys, "access", "-f", str(nested), "-p", "user:alice", "-o", "json").json()
    assert list(body) == ["principal", "resourceType", "access"]
    assert body["principal"]["displayName"] == "Alice"
    assert body["resourceType"]["id"] == "user"
    by_entitlement = {a["entitlement"]["id"]: a for a in body["access"]}
    assert set(by_entitlement) == {ENG_M.id, ALL_M.id, OPS_M.id}
    assert list(by_entitlement[ENG_M.id]) == [
        "entitlement",
        "resource",
        "resourceType",
        "grant",
        "direct",
        "paths",
    ]
    assert (by_entitlement[ENG_M.id]["direct"], by_entitlement[ENG_M.id]["paths"]) == (True, [])
    assert (by_entitlement[ALL_M.id]["direct"], by_entitlement[ALL_M.id]["paths"]) == (
        False,
        [[ENG_M.id, ALL_M.id]],
    )
    ops = by_entitlement[OPS_M.id]
    assert ops["direct"] is True
    assert ops["paths"] == [[ENG_M.id, ALL_M.id, OPS_M.id]]
    assert by_entitlement[ALL_M.id]["resource"]["displayName"] == "Everyone"

    lines = ok(capsys, "access", "-f", str(nested), "-p", "user:alice").out.splitlines()
    assert lines[0] == f"Access of user:alice (Alice) in sync {_sync_id(nested, capsys)}"
    assert any(
        line.endswith("via group:eng:member -> group:all:member") and "Everyone" in line for line in lines
    )
    assert any(
        "direct; via group:eng:member -> group:all:member -> group:ops:member" in line for line in lines
    )


def test_groups_are_principals_too(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = ok(capsys, "access", "-f", str(nested), "-p", "group:eng", "-o", "json").json()
    assert [(a["entitlement"]["id"], a["direct"]) for a in body["access"]] == [(ALL_M.id, True)]


def test_grants_console_shows_how_each_grant_was_obtained(
    nested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ok(capsys, "grants", "-f", str(nested), "-p", "user:alice").out.splitlines()
    assert lines[0].split() == [
        "Resource",
        "Type",
        "Resource",
        "Entitlement",
        "Principal",
        "Type",
        "Principal",
        "Via",
    ]
    assert [line.split()[-1] for line in lines[1:]] == ["direct", "group:eng:member", "group:all:member"]
    assert "direct + group:all:member" in lines[3]


def test_export_flattens_sources(nested: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "export", "--format", "csv", "-f", str(nested), str(tmp_path / "out"))
    with (tmp_path / "out" / "grants.csv").open(newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows["group:ops:member:user:alice"]["direct"] == "true"
    assert rows["group:ops:member:user:alice"]["sources"] == "group:all:member"
    assert rows["group:all:member:user:alice"] == {
        "id": "group:all:member:user:alice",
        "entitlement_id": "group:all:member",
        "resource_type": "group",
        "resource_id": "all",
        "principal_type": "user",
        "principal_id": "alice",
        "direct": "false",
        "sources": "group:eng:member",
    }
    ok(capsys, "export", "--format", "jsonl", "-f", str(nested), str(tmp_path / "jl"))
    first = json.loads((tmp_path / "jl" / "resources.jsonl").read_text().splitlines()[0])
    assert first == {
        "kind": "resource",
        "resource_type": "user",
        "resource_id": "alice",
        "display_name": "Alice",
        "description": "",
        "parent_resource_type": "",
        "parent_resource_id": "",
    }


def test_paths_survive_cycles_and_missing_links() -> None:
    a, b, c = "group:a:member", "group:b:member", "group:c:member"
    held = {
        a: _grant(a, [b]),  # a from b, b from a: expansion output should never look like this, but
        b: _grant(b, [a]),  # a bad file must not hang the command
        c: _grant(c, ["group:elsewhere:member"]),  # a source the principal holds no grant for
    }
    assert access_paths(held, held[a]) == [[b, a]]
    assert access_paths(held, held[c]) == [["group:elsewhere:member", c]]


def test_fixture_paths_through_teams_and_roles(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture("file-template-sdk-v0.25.0.c1z"))
    body = ok(capsys, "access", "-f", path, "-p", "user:alice.admin", "-o", "json").json()
    paths = {a["entitlement"]["id"]: a["paths"] for a in body["access"] if not a["direct"]}
    assert paths["workspace:production_workspace:member"] == [
        [
            "team:app_admin:member",
            "role:production_workspace_owner:assignment",
            "workspace:production_workspace:member",
        ]
    ]
    assert [a["entitlement"]["id"] for a in body["access"] if a["direct"]] == ["team:app_admin:member"]


def _grant(entitlement_id: str, sources: list[str]) -> grant_pb2.Grant:
    g = grant_pb2.Grant(id=f"{entitlement_id}:user:x")
    g.entitlement.id = entitlement_id
    for s in sources:
        g.sources.sources[s].CopyFrom(grant_pb2.GrantSources.GrantSource())
    return g


def _sync_id(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    sync_id: str = ok(capsys, "stats", "-f", str(path), "-o", "json").json()["id"]
    return sync_id

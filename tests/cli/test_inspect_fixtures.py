"""Every inspection command on every v1 fixture, against the fixture README's counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from tests.cli.test_inspect_support import fixture, ok, readme_table, run, v1_fixtures

FIXTURE_NAMES = v1_fixtures()
LIST_COMMANDS = {
    "resource_types": ("resource-types", "resourceTypes"),
    "resources": ("resources", "resources"),
    "entitlements": ("entitlements", "entitlements"),
    "grants": ("grants", "grants"),
}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_json_listings_count_what_the_readme_says(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture(name))
    expected = readme_table()[name]
    for kind, (command, key) in LIST_COMMANDS.items():
        body = ok(capsys, command, "-f", path, "-o", "json").json()
        assert list(body) == [key]
        assert len(body[key]) == expected[kind], (command, name)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_console_listings_have_one_line_per_row(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture(name))
    expected = readme_table()[name]
    for kind, (command, _) in LIST_COMMANDS.items():
        lines = ok(capsys, command, "--file", path).out.splitlines()
        # Piped output is plain aligned text: a header, then one line per row.
        assert len(lines) == 1 + (expected[kind] or 0), (command, name)
        assert lines[0].split()[0] in {"ID", "Resource"}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_stats_and_syncs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixture(name)
    expected = readme_table()[name]
    with C1ZReader.open(path) as reader:
        runs = reader.syncs()
        chosen = reader.pick_sync()
    stats = ok(capsys, "stats", "-f", str(path), "-o", "json").json()
    assert stats["id"] == chosen.sync_id
    assert {k: stats["stats"][_camel(k)] for k in expected} == expected
    by_type = stats["stats"]["grantsByResourceType"]
    assert sum(by_type.values()) == expected["grants"]

    syncs = ok(capsys, "syncs", "-f", str(path), "-o", "json").json()["syncs"]
    assert [s["id"] for s in syncs] == [r.sync_id for r in runs]
    assert all(s["startedAt"].endswith("Z") for s in syncs)
    assert [("endedAt" in s) for s in syncs] == [r.finished for r in runs]

    console = ok(capsys, "stats", "-f", str(path)).out
    assert chosen.sync_id in console and f"grants          {expected['grants']}" in console
    assert chosen.sync_id in ok(capsys, "syncs", "-f", str(path)).out


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_principals_are_the_distinct_grant_principals(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixture(name)
    with C1ZReader.open(path) as reader:
        sync_id = reader.pick_sync().sync_id
        distinct = {(g.principal.id.resource_type, g.principal.id.resource) for g in reader.grants(sync_id)}
    body = ok(capsys, "principals", "-f", str(path), "-o", "json").json()
    listed = [
        (r["resource"]["id"].get("resourceType", ""), r["resource"]["id"].get("resource", ""))
        for r in body["resources"]
    ]
    assert len(listed) == len(set(listed)) and set(listed) == distinct
    assert all(r["resourceType"]["id"] == r["resource"]["id"]["resourceType"] for r in body["resources"])
    assert len(ok(capsys, "principals", "-f", str(path)).out.splitlines()) == 1 + len(distinct)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_access_of_every_principal_adds_up_to_all_grants(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(fixture(name))
    principals = ok(capsys, "principals", "-f", path, "-o", "json").json()["resources"]
    total = 0
    for entry in principals[:10]:  # each principal costs two opens of the file
        rid = entry["resource"]["id"]
        if not rid.get("resource"):
            continue  # the demo fixture holds a grant to a principal with an empty id
        ref = f"{rid['resourceType']}:{rid['resource']}"
        body = ok(capsys, "access", "-f", path, "-p", ref, "-o", "json").json()
        assert body["principal"]["id"] == rid
        grants = ok(capsys, "grants", "-f", path, "-p", ref, "-o", "json").json()["grants"]
        assert sorted(a["grant"]["id"] for a in body["access"]) == sorted(g["grant"]["id"] for g in grants)
        total += len(grants)
    expected = readme_table()[name]["grants"]
    assert (total > 0) == bool(expected)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_export_and_self_diff(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture(name))
    expected = readme_table()[name]
    ok(capsys, "export", "-f", path, str(tmp_path / "csv"))
    for kind, count in expected.items():
        with (tmp_path / "csv" / f"{kind}.csv").open(newline="") as fh:
            assert len(list(csv.DictReader(fh))) == count
    lines = ok(capsys, "export", "--format", "jsonl", "-f", path, "-").out.splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert {k: kinds.count(k.removesuffix("s")) for k in expected} == expected

    same = run(capsys, "diff", path, path, "--exit-code", "-o", "json")
    assert same.code == 0, same.err
    body = same.json()
    assert all(
        body[k] == {"created": [], "deleted": [], "modified": []}
        for k in ("resources", "entitlements", "grants")
    )


def test_known_objects_of_the_demo_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture("demo-sdk-v0.2.51.c1z"))
    alice, engineers = "2IC0Wn5oRQqVVn3COFl1O1zSzV6", "2IC0WmAPkihbFdZhEPsch5N5WNO"
    users = ok(capsys, "resources", "-f", path, "-t", "user", "-o", "json").json()["resources"]
    assert {u["resource"]["displayName"] for u in users} == {"Alice", "Bob", "Carol", "Dan", "Frank"}
    assert all(
        u["resourceType"] == {"id": "user", "displayName": "User", "traits": ["TRAIT_USER"]} for u in users
    )

    # Did the sync see Alice, and is she in the Engineers group?
    grants = ok(capsys, "grants", "-f", path, "-p", f"user:{alice}", "-o", "json").json()["grants"]
    member = [g for g in grants if g["grant"]["id"] == f"group:{engineers}:member:user:{alice}"]
    assert len(member) == 1
    assert member[0]["resource"]["displayName"] == "Engineers"
    assert member[0]["entitlement"]["slug"] == "member"
    assert member[0]["principal"]["displayName"] == "Alice"
    assert member[0]["resourceType"]["id"] == "group"

    engineers_members = ok(
        capsys, "grants", "-f", path, "-r", f"group:{engineers}", "-e", f"group:{engineers}:member"
    )
    names = {line.split()[4] for line in engineers_members.out.splitlines()[1:]}
    assert names == {"Alice", "Bob", "Carol"}

    ents = ok(capsys, "entitlements", "-f", path, "-t", "group", "-r", engineers, "-o", "json").json()
    assert sorted(e["entitlement"]["slug"] for e in ents["entitlements"]) == ["admin", "member"]
    assert ok(capsys, "syncs", "-f", path, "-o", "json").json() == {
        "syncs": [
            {
                "id": "3MieUfkuTBtUwVgB5JNswcRv9xQ",
                "startedAt": "2026-11-28T03:50:32.431720123Z",
                "endedAt": "2026-11-28T03:50:32.470047464Z",
                "syncToken": '{"actions":null,"current_action":{"operation":"init"},"needs_expansion":false,'
                '"entitlement_graph":null}',
                "syncType": "full",
            }
        ]
    }


def test_stats_by_type_of_the_expanded_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    body = ok(capsys, "stats", "-f", str(fixture("small-expanded.c1z")), "-o", "json").json()
    assert body["id"] == "36zfOAoWMxQdISbixanQCRBiX7E"
    assert body["endedAt"] == "2025-12-17T16:33:36.381422Z"
    assert "syncToken" not in body
    stats = body["stats"]
    assert stats["resourcesByResourceType"] == {"group": 21, "project": 100, "role": 100, "user": 1000}
    assert stats["entitlementsByResourceType"] == {"group": 42, "project": 200, "role": 100}
    assert stats["grantsByResourceType"] == {"group": 2291, "project": 6370, "role": 6320}


def test_unfinished_sync_is_still_shown(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture("sync-in-progress.c1z"))
    out = ok(capsys, "syncs", "-f", path).out
    assert "3ARefY5G8eOytquwYgm41Nq07IZ" in out and "(unfinished)" in out
    assert "unfinished" in ok(capsys, "stats", "-f", path).out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_parents_and_filters_of_the_file_template_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture("file-template-sdk-v0.25.0.c1z"))
    roles = ok(capsys, "resources", "-f", path, "-t", "role", "-o", "json").json()["resources"]
    assert len(roles) == 6
    assert {r["parent"]["displayName"] for r in roles} == {"Production Workspace", "Development Workspace"}
    assert all(r["parent"]["id"]["resourceType"] == "workspace" for r in roles)
    users = ok(capsys, "resources", "-f", path, "-t", "user", "-o", "json").json()["resources"]
    assert all("parent" not in u for u in users)
    lines = ok(capsys, "resources", "-f", path, "-t", "role").out.splitlines()
    assert lines[1].endswith("Production Workspace (workspace)")

    # -r takes TYPE:ID on its own, or a bare id together with -t.
    for args in (("-r", "team:app_admin"), ("-t", "team", "-r", "app_admin")):
        ents = ok(capsys, "entitlements", "-f", path, *args, "-o", "json").json()["entitlements"]
        assert [e["entitlement"]["id"] for e in ents] == ["team:app_admin:member"]
        assert ents[0]["resourceType"]["id"] == "team"
    members = ok(capsys, "principals", "-f", path, "-e", "team:app_admin:member", "-o", "json").json()
    assert sorted(r["resource"]["id"]["resource"] for r in members["resources"]) == [
        "alice.admin",
        "dave.developer",
    ]
    on_team = ok(capsys, "principals", "-f", path, "-r", "team:app_admin", "-o", "json").json()["resources"]
    assert len(on_team) == 2
    by_type = ok(capsys, "grants", "-f", path, "-t", "workspace", "-o", "json").json()["grants"]
    assert len(by_type) == 20 and {g["resourceType"]["id"] for g in by_type} == {"workspace"}

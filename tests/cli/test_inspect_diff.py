"""``baton diff``: exactly what changed, across files or across the syncs of one file."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.errors import EXIT_DIFFERENCES
from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2
from tests.cli.test_inspect_support import fixture, grant, member, ok, resource, run, write_sync

ALICE = resource("user", "alice", "Alice")
BOB = resource("user", "bob", "Bob")
ADMINS = resource("group", "admins", "Admins")
ADMINS_MEMBER = member(ADMINS)
EMPTY: dict[str, list[object]] = {"created": [], "deleted": [], "modified": []}


def _base_grants() -> list[grant_pb2.Grant]:
    return [grant(ADMINS_MEMBER, ALICE)]


def _write(
    path: Path, grants: list[grant_pb2.Grant], users: list[resource_pb2.Resource] | None = None
) -> Path:
    write_sync(path, [*(users or [ALICE, BOB]), ADMINS], [ADMINS_MEMBER], grants)
    return path


@pytest.fixture
def before_after(tmp_path: Path) -> tuple[Path, Path]:
    before = _write(tmp_path / "before.c1z", _base_grants())
    after = _write(tmp_path / "after.c1z", [*_base_grants(), grant(ADMINS_MEMBER, BOB)])
    return before, after


def test_one_added_grant_is_exactly_the_diff(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    body = ok(capsys, "diff", str(before), str(after), "-o", "json").json()
    assert list(body) == ["base", "applied", "resources", "entitlements", "grants"]
    assert body["resources"] == EMPTY and body["entitlements"] == EMPTY
    assert body["grants"]["deleted"] == [] and body["grants"]["modified"] == []
    [added] = body["grants"]["created"]
    assert added["id"] == "group:admins:member:user:bob"
    assert added["principal"]["id"] == {"resourceType": "user", "resource": "bob"}
    assert added["entitlement"]["id"] == "group:admins:member"

    console = ok(capsys, "diff", str(before), str(after)).out.splitlines()
    assert "grants        1      0        0" in console
    assert console[-2:] == ["Change  Kind   Object", "added   grant  group:admins:member:user:bob"]

    reverse = ok(capsys, "diff", str(after), str(before), "-o", "json").json()
    assert [g["id"] for g in reverse["grants"]["deleted"]] == ["group:admins:member:user:bob"]
    assert reverse["grants"]["created"] == []


def test_exit_code_flag_gates_on_a_non_empty_diff(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    changed = run(capsys, "diff", str(before), str(after), "--exit-code")
    assert changed.code == EXIT_DIFFERENCES and changed.err == ""  # not 1, which means cancelled
    assert "added   grant  group:admins:member:user:bob" in changed.out
    assert run(capsys, "diff", str(before), str(after)).code == 0  # without the flag a diff is not a failure
    same = run(capsys, "diff", str(before), str(before), "--exit-code")
    assert same.code == 0 and "Object" not in same.out  # no change table when nothing changed
    assert run(capsys, "diff", str(before), str(after), "--exit-code", "-o", "json").code == EXIT_DIFFERENCES


def test_changed_means_same_id_different_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _write(tmp_path / "a.c1z", _base_grants())
    renamed = resource("user", "alice", "Alice Liddell")
    after = _write(tmp_path / "b.c1z", _base_grants(), users=[renamed, BOB])
    body = ok(capsys, "diff", str(before), str(after), "-o", "json").json()
    assert body["resources"]["created"] == [] and body["resources"]["deleted"] == []
    assert [r["displayName"] for r in body["resources"]["modified"]] == ["Alice Liddell"]
    assert body["grants"] == EMPTY  # the grant embeds only alice's id, which did not change
    lines = ok(capsys, "diff", str(before), str(after)).out.splitlines()
    assert lines[-1].split() == ["changed", "resource", "user:alice", "(Alice", "Liddell)"]


def test_two_syncs_of_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sync.c1z"
    _write(path, _base_grants())
    _write(path, [*_base_grants(), grant(ADMINS_MEMBER, BOB)])
    old, new = (s["id"] for s in ok(capsys, "syncs", "-f", str(path), "-o", "json").json()["syncs"])

    latest = ok(capsys, "diff", "-f", str(path), "-o", "json").json()
    assert (latest["base"]["syncId"], latest["applied"]["syncId"]) == (old, new)
    assert [g["id"] for g in latest["grants"]["created"]] == ["group:admins:member:user:bob"]

    explicit = ok(
        capsys, "diff", "-f", str(path), "--base-sync-id", new, "--applied-sync-id", old, "-o", "json"
    )
    assert [g["id"] for g in explicit.json()["grants"]["deleted"]] == ["group:admins:member:user:bob"]

    # Each listing command can look at the older sync too.
    grants = ok(capsys, "grants", "-f", str(path), "--sync-id", old, "-o", "json").json()["grants"]
    assert len(grants) == 1
    assert len(ok(capsys, "grants", "-f", str(path), "-o", "json").json()["grants"]) == 2


def test_expansion_fixtures_differ_by_the_expanded_grants(capsys: pytest.CaptureFixture[str]) -> None:
    before, after = fixture("small-unexpanded.c1z"), fixture("small-expanded.c1z")
    body = ok(capsys, "diff", str(before), str(after), "-o", "json").json()
    assert body["resources"] == EMPTY and body["entitlements"] == EMPTY
    grants = body["grants"]
    assert grants["deleted"] == []
    assert len(grants["created"]) == 14981 - 2909
    # Expansion adds grants that carry their sources, and adds sources to some direct grants.
    assert all(g["sources"]["sources"] for g in grants["created"])
    assert grants["modified"] and all(g["sources"]["sources"] for g in grants["modified"])

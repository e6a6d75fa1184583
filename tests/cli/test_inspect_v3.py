"""Every inspection command on v3 (Pebble) files, unchanged; writing into one is refused.

The template pair holds one connector's data in both formats, so each command must say the
same about either file (sync ids aside).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.emulator import task_builders as tb
from tests.cli.invoke import baton_here
from tests.cli.test_inspect_support import ok, run
from tests.external import fixture_path

V3 = "file-template-sdk-v0.25.0-pebble.c1z"
V1 = "file-template-sdk-v0.25.0.c1z"
LARGER_V3 = "pebble-unexpanded-sdk-test.c1z"
LISTINGS = {
    "resource-types": ("resourceTypes", 4),
    "resources": ("resources", 15),
    "entitlements": ("entitlements", 11),
    "grants": ("grants", 40),
}
EMPTY = {"created": [], "deleted": [], "modified": []}


def test_listings_and_stats(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture_path(V3))
    for command, (key, count) in LISTINGS.items():
        body = ok(capsys, command, "-f", path, "-o", "json").json()
        assert len(body[key]) == count, command
        lines = ok(capsys, command, "-f", path).out.splitlines()
        assert len(lines) == 1 + count, command
    stats = ok(capsys, "stats", "-f", path, "-o", "json").json()
    assert stats["id"] == "3MieZwfT42aynlAKC3KNybC749V"
    assert {k: stats["stats"][k] for k in ("resourceTypes", "resources", "entitlements", "grants")} == {
        "resourceTypes": 4,
        "resources": 15,
        "entitlements": 11,
        "grants": 40,
    }
    syncs = ok(capsys, "syncs", "-f", path, "-o", "json").json()["syncs"]
    assert [s["id"] for s in syncs] == ["3MieZwfT42aynlAKC3KNybC749V"]


def test_stats_of_the_larger_sample(capsys: pytest.CaptureFixture[str]) -> None:
    stats = ok(capsys, "stats", "-f", str(fixture_path(LARGER_V3)), "-o", "json").json()["stats"]
    assert (stats["resources"], stats["entitlements"], stats["grants"]) == (45217, 334, 85401)
    assert stats["grantsByResourceType"] == {"group": 84616, "project": 393, "role": 392}


def test_diff_across_formats_finds_no_differences(capsys: pytest.CaptureFixture[str]) -> None:
    v1, v3 = str(fixture_path(V1)), str(fixture_path(V3))
    for base, applied in ((v1, v3), (v3, v1), (v3, v3)):
        assert run(capsys, "diff", base, applied, "--exit-code").code == 0
        body = ok(capsys, "diff", base, applied, "-o", "json").json()
        assert body["resources"] == body["entitlements"] == body["grants"] == EMPTY


def test_diff_across_formats_still_sees_real_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A v1 copy of the v3 data with one resource renamed and one grant left out.
    changed = tmp_path / "changed.c1z"
    with C1ZReader.open(fixture_path(V3), tmp_dir=tmp_path) as reader, C1ZWriter.open(changed) as writer:
        sync_id = reader.pick_sync().sync_id
        writer.start_sync()
        writer.put_resource_types(list(reader.resource_types(sync_id)))
        resources = list(reader.resources(sync_id))
        resources[0].display_name = "Renamed"
        writer.put_resources(resources)
        writer.put_entitlements(list(reader.entitlements(sync_id)))
        grants = list(reader.grants(sync_id, with_expansion=True))
        writer.put_grants(grants[1:])
        writer.end_sync()
        writer.save()
    body = ok(capsys, "diff", str(fixture_path(V3)), str(changed), "-o", "json").json()
    assert [r["displayName"] for r in body["resources"]["modified"]] == ["Renamed"]
    assert [g["id"] for g in body["grants"]["deleted"]] == [grants[0].id]
    assert body["entitlements"] == EMPTY and body["grants"]["modified"] == []


def test_export_gives_the_v1_twins_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = {}
    for name in (V1, V3):
        lines[name] = sorted(
            ok(capsys, "export", "-", "--format", "jsonl", "-f", str(fixture_path(name))).out.splitlines()
        )
        assert len(lines[name]) == 4 + 15 + 11 + 40
    assert lines[V1] == lines[V3]
    out = tmp_path / "csv"
    ok(capsys, "export", str(out), "-f", str(fixture_path(V3)))
    assert len((out / "grants.csv").read_text().splitlines()) == 1 + 40


def _access(capsys: pytest.CaptureFixture[str], name: str, principal: str) -> list[tuple[object, ...]]:
    body = ok(capsys, "access", "-p", principal, "-f", str(fixture_path(name)), "-o", "json").json()
    return sorted(
        (a["resource"]["id"]["resource"], a["entitlement"]["id"], a["direct"], json.dumps(a["paths"]))
        for a in body["access"]
    )


def test_access_is_the_same_on_both_formats(capsys: pytest.CaptureFixture[str]) -> None:
    for principal in ("user:alice.admin", "team:app_admin"):
        v3 = _access(capsys, V3, principal)
        assert v3 and v3 == _access(capsys, V1, principal)
    assert any(not direct for _, _, direct, _ in _access(capsys, V3, "user:alice.admin"))


def test_provisioning_lookups_in_a_v3_file() -> None:
    with tb.C1ZCatalog.open(fixture_path(V3)) as catalog, C1ZReader.open(fixture_path(V3)) as reader:
        sync_id = reader.pick_sync().sync_id
        grant = next(iter(list(reader.grants(sync_id))))
        entitlement = next(e for e in list(reader.entitlements(sync_id)) if e.id == grant.entitlement.id)
        principal = reader.get_resource(
            sync_id, grant.principal.id.resource_type, grant.principal.id.resource
        )
        assert principal is not None
        text = f"{principal.id.resource_type}:{principal.id.resource}"
        granted = tb.grant_task(entitlement.id, text, catalog=catalog).grant
        assert granted.entitlement == entitlement and granted.principal == principal
        assert tb.revoke_task(entitlement.id, text, grant_id=grant.id, catalog=catalog).revoke.grant == grant


def test_expand_refuses_to_write_into_a_v3_file(tmp_path: Path) -> None:
    target = tmp_path / "pebble.c1z"
    shutil.copyfile(fixture_path(LARGER_V3), target)
    before = target.read_bytes()
    result = baton_here("expand", "-f", str(target), cwd=tmp_path)
    assert result.returncode == 12
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "v3 (Pebble engine)" in lines[0] and "--out" in lines[0]
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pebble.c1z"]


def test_expand_out_reads_v3_and_writes_a_new_v1_file(tmp_path: Path) -> None:
    # The template's grants were expanded already: both formats give the same answer, and --out
    # (which needs no connector) leaves the source alone.
    for name in (V1, V3):
        out = tmp_path / f"{name}.out.c1z"
        result = baton_here("expand", "-f", str(fixture_path(name)), "--out", str(out), cwd=tmp_path)
        assert result.returncode == 9, result.stderr
        assert "has no sync with a pending grant expansion" in result.stderr
        assert not out.exists()


def test_a_v3_source_becomes_a_v1_file(tmp_path: Path) -> None:
    out = tmp_path / "v1.c1z"
    with C1ZWriter.open(out, tmp_dir=tmp_path, source=fixture_path(V3)) as writer:
        writer.save()
    assert out.read_bytes()[:5] == b"C1ZF\x00"
    with C1ZReader.open(out, tmp_dir=tmp_path) as reader:
        assert reader.format == "v1"
        run_ = reader.pick_sync()
        assert run_.sync_id == "3MieZwfT42aynlAKC3KNybC749V"
        counts = reader.counts(run_.sync_id)
        assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == (
            4,
            15,
            11,
            40,
        )


def test_sync_refuses_a_v3_target(tmp_path: Path) -> None:
    target = tmp_path / "pebble.c1z"
    shutil.copyfile(fixture_path(V3), target)
    before = target.read_bytes()
    result = baton_here("sync", "--plugin", "demo", "-f", str(target), cwd=tmp_path)
    assert result.returncode == 12
    assert "v3 (Pebble engine)" in result.stderr and "writes only v1" in result.stderr
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pebble.c1z"], "no work directory is left"

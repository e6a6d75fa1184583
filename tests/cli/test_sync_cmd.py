"""`baton sync` end to end: the real demo plugin, a real c1z file.

Commands run in-process through the console entry point (tests/cli/invoke.py); what a shell
sees of the process itself (progress lines on a pipe, a closed stdout) runs a real `baton`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from baton_cli.c1z import C1ZReader
from baton_cli.cli.progress_rich import RichProgress
from baton_cli.cli.progress_view import PlainProgress
from baton_cli.core.progress import Phase, RowKind
from tests.cli.invoke import baton_here
from tests.cli.process import baton

ROOT = Path(__file__).resolve().parents[2]


def expanded_role_grants(*, users: int, groups: int, memberships: int, roles: int) -> int:
    """Distinct (user, role) pairs the demo's role-to-group grants expand into."""
    per = min(memberships // groups, users)
    holders: dict[int, set[int]] = {r: set() for r in range(roles)}
    for g in range(groups):
        holders[g % roles].update((g * per + k) % users for k in range(per))
    return sum(len(h) for h in holders.values())


def test_demo_sync_writes_a_c1z_our_reader_counts_exactly(tmp_path: Path) -> None:
    out = tmp_path / "demo.c1z"
    result = baton_here("sync", "--plugin", "demo", "--out", str(out), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # Defaults: 50 users, 5 groups, 200 memberships (40 per group), 3 roles each granted to its groups,
    # and grant expansion gives each member of a group the group's role.
    expected = {
        "resource_types": 3,
        "resources": 58,
        "entitlements": 8,
        "grants": 200 + 5 + expanded_role_grants(users=50, groups=5, memberships=200, roles=3),
    }
    assert summary["counts"] == expected
    assert summary["path"] == str(out) and summary["bytes"] == out.stat().st_size
    assert out.read_bytes()[:9] == b"C1ZF\x00\x28\xb5\x2f\xfd"
    with C1ZReader.open(out) as reader:
        sync = reader.pick_sync()
        assert sync.sync_id == summary["sync_id"] and sync.ended_at
        counts = reader.counts(sync.sync_id)
        assert (counts.resource_types, counts.resources, counts.entitlements, counts.grants) == tuple(
            expected.values()
        )
        # An expanded grant: user 0 is a member of groups 0 and 3, both granted role 0.
        [derived] = reader.grants(
            sync.sync_id, entitlement_id="role:r00000:assignment", principal_id="u0000000"
        )
        assert derived.id == "role:r00000:assignment:user:u0000000"
        assert set(derived.sources.sources) == {"group:g000000:member", "group:g000003:member"}
        assert any(a.type_url.endswith("c1.connector.v2.GrantImmutable") for a in derived.annotations)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.c1z"]  # no temp files left behind


def test_plugin_fields_flags_env_and_file_alias(tmp_path: Path) -> None:
    result = baton_here(
        "sync",
        "--plugin",
        "demo",
        "-f",
        "x.c1z",
        "--json",
        "--progress",
        "off",
        "--users",
        "10",
        "--memberships",
        "10",
        "--roles",
        "0",
        cwd=tmp_path,
        env={"BATON_GROUPS": "2"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == {
        "resource_types": 3,
        "resources": 12,
        "entitlements": 2,
        "grants": 10,
    }
    assert (tmp_path / "x.c1z").exists()


def test_plain_progress_lines_on_a_pipe(tmp_path: Path) -> None:
    result = baton("sync", "--plugin", "demo", "--out", "d.c1z", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "sync: phase list-resources" in "\n".join(lines)
    assert "sync: phase grant-expansion" in result.stderr
    done = lines[-1]
    assert done.startswith("sync: done in ")
    assert done.endswith(": 3 resource types, 58 resources, 8 entitlements, 345 grants")
    # The live lines and the summary give the same duration, formatted the same way.
    took = done.removeprefix("sync: done in ").split(":")[0]
    assert f"in {took};" in result.stdout
    counts = "3 resource types, 58 resources, 8 entitlements, 345 grants"
    assert result.stdout.startswith(f"Synced {counts} into d.c1z")


def test_unknown_plugin_field_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = baton_here("sync", "--plugin", "demo", "--out", "d.c1z", "--userz", "3", cwd=tmp_path)
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--userz" in result.stderr and "--users" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d.c1z").exists()


def test_bad_value_names_the_field(tmp_path: Path) -> None:
    result = baton_here("sync", "--plugin", "demo", "--users", "many", cwd=tmp_path)
    assert result.returncode == 3
    assert "users" in result.stderr and "Traceback" not in result.stderr


def test_unknown_plugin_lists_the_installed_ones(tmp_path: Path) -> None:
    result = baton_here("sync", "--plugin", "nosuch", cwd=tmp_path)
    assert result.returncode == 5
    assert "nosuch" in result.stderr and "demo" in result.stderr


def test_missing_required_option_exits_3_not_clicks_2(tmp_path: Path) -> None:
    result = baton_here("sync", cwd=tmp_path)
    assert result.returncode == 3
    assert "--plugin" in result.stderr


def test_failed_sync_keeps_the_previous_file_and_names_the_phase(tmp_path: Path) -> None:
    out = tmp_path / "keep.c1z"
    first = baton_here("sync", "--plugin", "demo", "--out", str(out), "--progress", "off", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = out.read_bytes()
    result = baton_here(
        "sync", "--plugin", "tests.cli.failing_plugin:plugin", "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 13, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("baton: error:")]
    assert len(error) == 1
    assert "list-grants for resource type 'thing'" in error[0] and "HTTP 500" in error[0]
    assert out.read_bytes() == before
    # Resources and entitlements were checkpointed when the grants phase began: they are kept.
    assert "run the same command again to resume" in error[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.c1z.baton-work", "keep.c1z"]


def test_a_file_that_is_not_c1z_is_refused_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "notes.c1z"
    out.write_bytes(b"my notes, not a c1z")
    result = baton_here("sync", "--plugin", "demo", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 3
    assert "notes.c1z" in result.stderr and "not a c1z file" in result.stderr
    assert out.read_bytes() == b"my notes, not a c1z"


def test_rich_display_shows_phase_rows_and_rate() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    now = [0.0]
    with RichProgress(console, clock=lambda: now[0]) as display:
        display.phase_started(Phase.LIST_RESOURCES)
        display.page_stored(RowKind.RESOURCES, 100)
        now[0] = 1.0
        display.page_stored(RowKind.RESOURCES, 50)
    text = buffer.getvalue()
    assert "list-resources" in text or "done" in text
    assert "150 rows" in text and "2 pages" in text and "rows/s" in text


def test_plain_display_throttles_lines() -> None:
    buffer = io.StringIO()
    now = [0.0]
    display = PlainProgress(buffer, interval=5.0, clock=lambda: now[0])
    display.phase_started(Phase.LIST_GRANTS)
    for _ in range(100):
        display.page_stored(RowKind.GRANTS, 10)  # no time passes: no lines
    now[0] = 6.0
    display.page_stored(RowKind.GRANTS, 10)
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "sync: phase list-grants; 0 resource types, 0 resources, 0 entitlements, 0 grants; 0 rows/s; "
        "elapsed 0.00s",
        "sync: list-grants; 0 resource types, 0 resources, 0 entitlements, 1,010 grants; 168 rows/s; "
        "elapsed 6.0s",
    ]


def test_baton_yaml_supplies_fields_and_may_hold_runner_keys(tmp_path: Path) -> None:
    (tmp_path / ".baton.yaml").write_text("users: 7\ngroups: 1\nmemberships: 3\nroles: 0\nclient-id: ''\n")
    result = baton_here(
        "sync", "--plugin", "demo", "--out", "y.c1z", "--json", "--progress", "off", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["resources"] == 8
    (tmp_path / ".baton.yaml").write_text("userz: 7\n")
    bad = baton_here("sync", "--plugin", "demo", "--out", "y.c1z", cwd=tmp_path)
    assert bad.returncode == 3 and "userz" in bad.stderr


def test_targeted_sync_of_the_demo_records_a_partial_sync(tmp_path: Path) -> None:
    full = baton_here("sync", "--plugin", "demo", "--out", "t.c1z", "--progress", "off", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    result = baton_here(
        "sync",
        "--plugin",
        "demo",
        "--out",
        "t.c1z",
        "--json",
        "--progress",
        "off",
        "--sync-resources",
        "group:g000001,bid:r:user/u0000003",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sync_type"] == "partial"
    assert summary["counts"]["resources"] == 2
    with C1ZReader.open(tmp_path / "t.c1z") as reader:
        runs = {r.sync_id: r for r in reader.syncs()}
        partial = runs[summary["sync_id"]]
        assert partial.sync_type == "partial" and partial.parent_sync_id in runs
        assert runs[partial.parent_sync_id].sync_type == "full"
        ids = {f"{r.id.resource_type}:{r.id.resource}" for r in reader.resources(partial.sync_id)}
        assert ids == {"group:g000001", "user:u0000003"}


def test_sync_flags_validation(tmp_path: Path) -> None:
    bad_type = baton_here("sync", "--plugin", "demo", "--sync-resource-types", "user,robot", cwd=tmp_path)
    assert bad_type.returncode == 3 and "robot" in bad_type.stderr
    lone_skip = baton_here("sync", "--plugin", "demo", "--skip-grants", cwd=tmp_path)
    assert lone_skip.returncode == 3 and "--sync-resources" in lone_skip.stderr
    bad_ref = baton_here("sync", "--plugin", "demo", "--sync-resources", "nocolon", cwd=tmp_path)
    assert bad_ref.returncode == 3 and "TYPE:ID" in bad_ref.stderr


def test_resources_only_sync_of_one_type(tmp_path: Path) -> None:
    result = baton_here(
        "sync",
        "--plugin",
        "demo",
        "--out",
        "r.c1z",
        "--json",
        "--progress",
        "off",
        "--sync-resource-types",
        "group",
        "--skip-entitlements-and-grants",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sync_type"] == "resources_only"
    assert summary["counts"] == {"resource_types": 1, "resources": 5, "entitlements": 0, "grants": 0}


def test_rich_display_rates_are_per_kind() -> None:
    buffer = io.StringIO()
    now = [0.0]
    console = Console(file=buffer, force_terminal=True, width=120)
    with RichProgress(console, clock=lambda: now[0]) as display:
        now[0] = 1.0
        display.page_stored(RowKind.RESOURCES, 1000)
        now[0] = 11.0
        display.page_stored(RowKind.GRANTS, 50)
        now[0] = 12.0
        display.page_stored(RowKind.GRANTS, 250)
    text = buffer.getvalue()
    # 300 grants over the 1 s since the first grant page, not over the whole 12 s run.
    assert "300 rows" in text and "300 rows/s" in text


def test_a_closed_pipe_ends_quietly_with_sigpipe_status(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.cli.process import baton_env
    from tests.external import fixture_path

    fixture = fixture_path("small-expanded.c1z")
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_cli", "grants", "-f", str(fixture), "-o", "json"],
        cwd=tmp_path,
        env=baton_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b'{"grants":[')
    proc.stdout.close()  # what `| head -c 100` does
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert err == b""

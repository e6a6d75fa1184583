"""Issue 5's acceptance: diff of a demo sync before and after one demo grant shows exactly that grant."""

from __future__ import annotations

import json
from pathlib import Path

from baton_cli.connector.api import Provisioner
from baton_cli.connector.config import resolve_config
from baton_cli.connector.demo import plugin as demo_plugin
from baton_cli.core.sync import iter_all
from baton_cli.errors import EXIT_DIFFERENCES
from tests.cli.invoke import baton_here

ROOT = Path(__file__).resolve().parents[2]
SIZES = ["--users", "20", "--groups", "2", "--memberships", "10", "--roles", "0"]


def test_diff_after_a_demo_grant_shows_exactly_that_grant(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    common = ["--plugin", "demo", "--progress", "off", *SIZES, "--state-file", str(state)]
    assert baton_here("sync", "--out", "before.c1z", *common, cwd=tmp_path).returncode == 0

    config = resolve_config(demo_plugin.fields, [*SIZES, "--state-file", str(state)], {}, None, cwd=tmp_path)
    connector = demo_plugin.factory(config)
    syncers = {s.resource_type.id: s for s in connector.resource_syncers()}
    groups, users = syncers["group"], syncers["user"]
    group = next(iter_all(lambda token: groups.list(None, token)))
    [member] = [e for e in iter_all(lambda token: groups.entitlements(group, token)) if e.slug == "member"]
    holders = {g.principal.id.resource for g in iter_all(lambda token: groups.grants(group, token))}
    outsider = next(
        u for u in iter_all(lambda token: users.list(None, token)) if u.id.resource not in holders
    )
    assert isinstance(groups, Provisioner)
    groups.grant(outsider, member)

    assert baton_here("sync", "--out", "after.c1z", *common, cwd=tmp_path).returncode == 0
    result = baton_here("diff", "before.c1z", "after.c1z", "-o", "json", "--exit-code", cwd=tmp_path)
    assert result.returncode == EXIT_DIFFERENCES, result.stderr  # --exit-code: the diff is not empty
    body = json.loads(result.stdout)
    expected_id = f"{member.id}:user:{outsider.id.resource}"
    assert [g["id"] for g in body["grants"]["created"]] == [expected_id]
    assert body["grants"]["deleted"] == [] and body["grants"]["modified"] == []
    for kind in ("resources", "entitlements"):
        assert body[kind] == {"created": [], "deleted": [], "modified": []}

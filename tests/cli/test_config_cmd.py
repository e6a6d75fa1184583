"""`baton config`, `baton capabilities` and `plugins show` constraints (issue 10 §3, §5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton_cli.errors import StatusCode
from tests.cli.invoke import baton_here


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def test_config_shows_every_value_and_its_source(tmp_path: Path) -> None:
    (tmp_path / ".baton.yaml").write_text("plugin: demo\nusers: 5\nsync-resource-types: [user, group]\n")
    done = baton_here(
        "config",
        "sync",
        "--progress",
        "off",
        "--groups",
        "3",
        "-o",
        "json",
        cwd=tmp_path,
        env={"BATON_PAGE_SIZE": "7", "BATON_FILE": "from-env.c1z"},
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    options = by_name(body["options"])
    assert options["plugin"]["source"] == "file" and options["plugin"]["path"].endswith(".baton.yaml")
    assert options["progress"] == {"env": None, "name": "progress", "source": "flag", "value": "off"}
    assert options["sync-resource-types"]["value"] == "user,group"
    assert options["workers"]["source"] == "default"
    fields = by_name(body["plugin"]["fields"])
    assert (fields["users"]["value"], fields["users"]["source"]) == (5, "file")
    assert (fields["groups"]["value"], fields["groups"]["source"]) == (3, "flag")
    assert (fields["page-size"]["value"], fields["page-size"]["source"]) == (7, "env")
    assert fields["roles"]["source"] == "default"


def test_config_masks_secrets(tmp_path: Path) -> None:
    secret = "cs-very-secret-value-123"
    done = baton_here("config", "run", "--plugin", "demo", cwd=tmp_path, env={"BATON_CLIENT_SECRET": secret})
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.strip().startswith("client-secret"))
    assert "<hidden>" in line and line.rstrip().endswith("env")


def test_capabilities_prints_upstreams_any_json(tmp_path: Path) -> None:
    done = baton_here("capabilities", "--plugin", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["@type"] == "type.googleapis.com/c1.connector.v2.ConnectorCapabilities"
    assert "CAPABILITY_PROVISION" in body["connectorCapabilities"]
    assert done.stdout.startswith('{\n  "@type"')  # indented two spaces, as upstream
    whole = json.loads(baton_here("capabilities", "--plugin", "demo", "--metadata", cwd=tmp_path).stdout)
    assert whole["@type"].endswith("ConnectorMetadata") and "capabilities" in whole


def test_plugins_show_lists_choices_and_limits(tmp_path: Path) -> None:
    done = baton_here("plugins", "show", "demo", cwd=tmp_path, env={"COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    users = next(line for line in done.stdout.splitlines() if line.startswith("--users"))
    assert "0..10,000,000" in users


def test_config_of_an_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    done = baton_here("config", "frobnicate", cwd=tmp_path)
    assert done.returncode == StatusCode.INVALID_ARGUMENT and "no command 'frobnicate'" in done.stderr

"""Scripts written for an upstream connector binary run unchanged (issue 10 §3, cli.md §2-§4)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from baton_cli.connector.demo import plugin as demo
from baton_cli.connector.plugin import ConfigField
from baton_cli.errors import ConnectorError, StatusCode
from baton_cli.wiring import refuse_runner_names
from tests.cli.invoke import baton_here


def test_an_upstream_script_syncs_grants_and_revokes(tmp_path: Path) -> None:
    demo = ("--plugin", "demo", "--file", "up.c1z", "--state-file", "state.json")
    synced = baton_here(*demo, "--progress", "off", cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert (tmp_path / "up.c1z").exists() and "Synced" in synced.stdout
    granted = baton_here(
        *demo,
        "--grant-entitlement",
        "group:g000002:member",
        "--grant-principal",
        "u0000001",
        "--grant-principal-type",
        "user",
        "-p",
        "-o",
        "json",
        cwd=tmp_path,
    )
    assert granted.returncode == 0, granted.stderr
    assert json.loads(granted.stdout)["grants"][0]["id"] == "group:g000002:member:user:u0000001"
    revoked = baton_here(*demo, "--revoke-grant", "group:g000000:member:user:u0000001", cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked grant group:g000000:member:user:u0000001" in revoked.stdout


def test_a_resource_action_needs_its_type(tmp_path: Path) -> None:
    done = baton_here("--plugin", "demo", "--delete-resource", "u1", cwd=tmp_path)
    assert done.returncode == StatusCode.INVALID_ARGUMENT
    assert "--delete-resource-type is required" in done.stderr


def test_unsupported_upstream_flags_say_so_by_name(tmp_path: Path) -> None:
    cases = {
        "--diff-syncs": ("--plugin", "demo", "--diff-syncs", "--base-sync-id", "a", "--applied-sync-id", "b"),
        "--external-resource-c1z": ("sync", "--plugin", "demo", "--external-resource-c1z", "other.c1z"),
        "--external-resource-traits": ("--plugin", "demo", "--external-resource-traits", "user"),
    }
    for flag, args in cases.items():
        done = baton_here(*args, cwd=tmp_path)
        assert done.returncode == StatusCode.UNIMPLEMENTED, done.stderr
        assert f"{flag} is not supported yet" in done.stderr
        assert "unknown flag" not in done.stderr


def test_runner_options_come_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / ".baton.yaml").write_text(
        "plugin: demo\nfile: fromyaml.c1z\nusers: 5\nsync-resource-types: [user]\n"
    )
    done = baton_here("sync", "--progress", "off", "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["path"].endswith("fromyaml.c1z")
    assert summary["counts"]["resources"] == 5  # users only: sync-resource-types read as a list
    # The command line still wins over the file.
    assert baton_here("sync", "-f", "flag.c1z", "--progress", "off", cwd=tmp_path).returncode == 0
    assert (tmp_path / "flag.c1z").exists()


def test_a_config_file_must_be_yaml(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{}")
    done = baton_here("sync", "--plugin", "demo", "--config", "settings.json", cwd=tmp_path)
    assert done.returncode == StatusCode.INVALID_ARGUMENT
    assert "--config must name a .yaml or .yml file" in done.stderr
    done = baton_here("sync", "--plugin", "demo", cwd=tmp_path, env={"BATON_CONFIG_PATH": "settings.json"})
    assert done.returncode == StatusCode.INVALID_ARGUMENT
    assert "BATON_CONFIG_PATH must name a .yaml or .yml file" in done.stderr


def test_an_unknown_flag_suggests_the_closest_runner_or_plugin_option(tmp_path: Path) -> None:
    typo = baton_here("sync", "--plugin", "demo", "--progres", "off", cwd=tmp_path)
    assert typo.returncode == StatusCode.INVALID_ARGUMENT
    assert "unknown flag --progres: did you mean --progress?" in typo.stderr
    assert "--users" in typo.stderr  # the plugin's options are named too
    field = baton_here("sync", "--plugin", "demo", "--usres", "3", cwd=tmp_path)
    assert "did you mean --users?" in field.stderr
    other = baton_here("sync", "--plugin", "demo", "--client-id", "x", cwd=tmp_path)
    assert "--client-id is a runner option this command does not take" in other.stderr


def test_a_plugin_field_named_like_a_runner_option_is_refused_at_load() -> None:
    refuse_runner_names(demo)  # the demo's own fields are fine
    clashing = replace(demo, fields=(*demo.fields, ConfigField(name="file", type="string")))
    with pytest.raises(ConnectorError, match="declares --file, which the runner already uses"):
        refuse_runner_names(clashing)


def test_storage_engine_is_accepted_and_pebble_explained(tmp_path: Path) -> None:
    done = baton_here(
        "sync", "--plugin", "demo", "--storage-engine", "pebble", "--progress", "off", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "baton writes v1 (SQLite) c1z files" in done.stderr
    bad = baton_here("sync", "--plugin", "demo", "--storage-engine", "rocks", cwd=tmp_path)
    assert (
        bad.returncode == StatusCode.INVALID_ARGUMENT
        and "--storage-engine must be sqlite or pebble" in bad.stderr
    )

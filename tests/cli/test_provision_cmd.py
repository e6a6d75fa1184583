"""One-shot provisioning commands against the demo plugin, checked by syncing again."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pyrage  # type: ignore[import-untyped]

from tests.cli.invoke import baton_here


def _sync(tmp_path: Path, state: Path) -> None:
    result = baton_here(
        "sync", "--plugin", "demo", "--state-file", str(state), "--progress", "off", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr


def _grant_ids(tmp_path: Path, principal: str) -> set[str]:
    result = baton_here("grants", "-p", principal, "-o", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return {row["grant"]["id"] for row in json.loads(result.stdout)["grants"]}


def test_grant_and_revoke_show_in_the_next_sync(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    _sync(tmp_path, state)
    grant_id = "group:g000001:member:user:u0000035"
    assert grant_id not in _grant_ids(tmp_path, "user:u0000035")
    common = ("-e", "group:g000001:member", "--principal", "user:u0000035", "--plugin", "demo")
    granted = baton_here("grant", *common, "--state-file", str(state), "--json", cwd=tmp_path)
    assert granted.returncode == 0, granted.stderr
    assert [g["id"] for g in json.loads(granted.stdout)["grants"]] == [grant_id]
    _sync(tmp_path, state)
    assert grant_id in _grant_ids(tmp_path, "user:u0000035")
    revoked = baton_here("revoke", *common, "--state-file", str(state), cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    _sync(tmp_path, state)
    assert grant_id not in _grant_ids(tmp_path, "user:u0000035")


def test_create_account_reveals_only_when_asked_and_never_in_json(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    args = ("--plugin", "demo", "--state-file", str(state), "--email", "alice@example.com")
    shown = baton_here("create-account", "--login", "alice", *args, "--reveal", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "account user:u0000050: success" in shown.stdout
    [password_line] = [line for line in shown.stdout.splitlines() if line.startswith("password: ")]
    assert len(password_line) > len("password: ") + 8

    identity = pyrage.x25519.Identity.generate()
    quiet = baton_here(
        "create-account",
        "--login",
        "bob",
        *args,
        "--json",
        "--age-recipient",
        str(identity.to_public()),
        cwd=tmp_path,
    )
    assert quiet.returncode == 0, quiet.stderr
    body = json.loads(quiet.stdout)
    [encrypted] = body["encryptedData"]
    secret = pyrage.decrypt(base64.b64decode(encrypted["encryptedBytes"]), [identity]).decode()
    assert secret not in quiet.stdout and secret not in quiet.stderr
    _sync(tmp_path, state)
    users = baton_here("resources", "-t", "user", "-o", "json", cwd=tmp_path)
    logins = {r["resource"]["displayName"] for r in json.loads(users.stdout)["resources"]}
    assert {"alice", "bob"} <= logins


def test_delete_resource_and_errors(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    _sync(tmp_path, state)
    deleted = baton_here(
        "delete-resource", "-r", "user:u0000003", "--plugin", "demo", "--state-file", str(state), cwd=tmp_path
    )
    assert deleted.returncode == 0, deleted.stderr
    _sync(tmp_path, state)
    users = baton_here("resources", "-t", "user", "-o", "json", cwd=tmp_path)
    assert "u0000003" not in {r["resource"]["id"]["resource"] for r in json.loads(users.stdout)["resources"]}

    missing = baton_here(
        "delete-resource", "-r", "user:nobody", "--plugin", "demo", "--state-file", str(state), cwd=tmp_path
    )
    assert missing.returncode == 5 and "user:nobody" in missing.stderr
    no_state = baton_here(
        "grant",
        "-e",
        "group:g000001:member",
        "--principal",
        "user:u0000001",
        "--plugin",
        "demo",
        cwd=tmp_path,
    )
    assert no_state.returncode == 9 and "--state-file" in no_state.stderr
    both = baton_here(
        "rotate-credentials", "-r", "user:u0000001", "--plugin", "demo", "--reveal", "--json", cwd=tmp_path
    )
    assert both.returncode == 3 and "--reveal" in both.stderr
    for result in (missing, no_state, both):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_new_credentials_without_a_destination_are_refused_before_the_connector(tmp_path: Path) -> None:
    marker = tmp_path / "connector-was-built"
    plugin = ("--plugin", "tests.cli.marker_plugin:plugin", "--marker", str(marker))
    for args in (("rotate-credentials", "-r", "user:u0000001"), ("create-account", "--login", "carol")):
        result = baton_here(*args, *plugin, cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert "--reveal" in line and "--age-recipient" in line, line
        assert not marker.exists(), f"{args[0]} reached the connector"

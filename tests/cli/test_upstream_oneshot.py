"""The translation of upstream's one-shot flags (cli.md §2 priority, §4 constraints), without a process."""

from __future__ import annotations

import pytest

from baton_cli.cli.upstream_oneshot import translate
from baton_cli.errors import BatonError, StatusCode, UsageError


def test_other_command_lines_are_left_alone() -> None:
    assert translate([]) is None
    assert translate(["tickets", "schemas", "--list-ticket-schemas"]) is None  # a subcommand comes first
    assert translate(["--help"]) is None


def test_a_root_command_line_without_an_action_is_a_sync_or_the_daemon() -> None:
    # cli.md §2: no action flag means a local sync into --file; a client id means the daemon.
    assert translate(["--plugin", "demo", "-f", "x.c1z"], env={}) == [
        "sync",
        "--plugin",
        "demo",
        "-f",
        "x.c1z",
    ]
    assert translate(["--plugin", "demo", "--provisioning"], env={}) == ["sync", "--plugin", "demo"]
    assert translate(
        ["--plugin", "demo", "--grant-entitlement", "e", "--grant-principal", "p", "--client-id", "x"], env={}
    ) == [
        "run",
        "--plugin",
        "demo",
        "--client-id",
        "x",
    ]
    assert translate(["--plugin", "demo"], env={"BATON_CLIENT_ID": "x"}) == ["run", "--plugin", "demo"]


def test_the_provisioning_actions_become_their_commands() -> None:
    grant = [
        "--grant-entitlement",
        "group:eng:member",
        "--grant-principal",
        "u1",
        "--grant-principal-type",
        "user",
    ]
    assert translate([*grant, "--plugin", "demo", "-p"], env={}) == [
        "grant",
        "-e",
        "group:eng:member",
        "--principal",
        "user:u1",
        "--plugin",
        "demo",
    ]
    assert translate(["--revoke-grant", "g1", "--plugin", "demo"], env={}) == [
        "revoke",
        "--grant-id",
        "g1",
        "--plugin",
        "demo",
    ]
    assert translate(["--delete-resource", "u1", "--delete-resource-type", "user"], env={}) == [
        "delete-resource",
        "-r",
        "user:u1",
    ]
    assert translate(["--rotate-credentials", "u1", "--rotate-credentials-type", "user"], env={}) == [
        "rotate-credentials",
        "-r",
        "user:u1",
    ]
    profile = '{"login": "bob", "email": "bob@example.com"}'
    assert translate(
        ["--create-account-profile", profile, "--create-account-resource-type", "user"], env={}
    ) == [
        "create-account",
        "--login",
        "bob",
        "--email",
        "bob@example.com",
        "--profile",
        profile,
        "-t",
        "user",
    ]
    assert translate(["--create-account-email", "a@b.c", "--plugin", "demo"], env={}) == [
        "sync",
        "--plugin",
        "demo",
    ]


def test_provisioning_flags_keep_upstreams_constraints() -> None:
    with pytest.raises(
        UsageError, match=r"\[grant-entitlement grant-principal\] are set they must all be set"
    ):
        translate(["--grant-entitlement", "e"], env={})
    with pytest.raises(UsageError, match="none of the others can be"):
        translate(["--grant-entitlement", "e", "--grant-principal", "p", "--revoke-grant", "g"], env={})
    with pytest.raises(UsageError, match="--grant-principal-type is required"):
        translate(["--grant-entitlement", "e", "--grant-principal", "p"], env={})
    with pytest.raises(UsageError, match="--delete-resource-type is required"):
        translate(["--delete-resource", "u1"], env={})


def test_diff_and_compact_syncs_are_not_supported_yet() -> None:
    with pytest.raises(BatonError, match="--diff-syncs is not supported yet") as raised:
        translate(["--diff-syncs", "--base-sync-id", "a", "--applied-sync-id", "b"], env={})
    assert raised.value.code == StatusCode.UNIMPLEMENTED


def test_the_first_action_in_upstream_order_wins_and_other_arguments_are_kept() -> None:
    # --event-feed (row 3) comes before --invoke-action (row 6).
    argv = [
        "--plugin",
        "demo",
        "--invoke-action=greet",
        "--event-feed",
        "1",
        "--event-feed-id",
        "f",
        "-o",
        "json",
    ]
    assert translate(argv) == ["events", "list", "--all", "--feed-id", "f", "--plugin", "demo", "-o", "json"]
    assert translate(["--plugin", "x", "--invoke-action", "greet"]) == [
        "actions",
        "invoke",
        "greet",
        "--args",
        "{}",
        "--plugin",
        "x",
    ]
    assert translate(["--list-action-schemas", "--get-ticket", "--ticket-id", "T1"]) == ["actions", "list"]


def test_event_feed_false_is_no_action() -> None:
    with pytest.raises(UsageError, match="none of the others"):
        translate(["--event-feed", "false", "--list-ticket-schemas"])  # still "set", as cobra counts it
    assert translate(["--event-feed", "nonsense", "--invoke-action", "a"]) == [
        "actions",
        "invoke",
        "a",
        "--args",
        "{}",
    ]


def test_switches_take_go_booleans() -> None:
    assert translate(["--list-ticket-schemas=true"]) == ["tickets", "schemas"]
    assert translate(["--list-ticket-schemas=false"]) is None
    with pytest.raises(UsageError, match='invalid argument "maybe"'):
        translate(["--list-ticket-schemas=maybe"])


def test_a_value_flag_without_its_value() -> None:
    with pytest.raises(UsageError, match="flag needs an argument: --invoke-action"):
        translate(["--invoke-action"])


def test_earlier_one_shot_actions_win_in_upstreams_order() -> None:
    # cli.md §2: create account (row 5) comes before invoke action (row 6).
    assert translate(["--create-account-login", "bob", "--invoke-action", "x"]) == [
        "create-account",
        "--login",
        "bob",
    ]


def test_the_one_shot_flags_have_baton_env_twins() -> None:
    env = {"BATON_REVOKE_GRANT": "g1"}
    assert translate(["--plugin", "demo"], env=env) == ["revoke", "--grant-id", "g1", "--plugin", "demo"]
    env = {"BATON_DELETE_RESOURCE": "u1", "BATON_DELETE_RESOURCE_TYPE": "user"}
    assert translate(["--plugin", "demo"], env=env) == [
        "delete-resource",
        "-r",
        "user:u1",
        "--plugin",
        "demo",
    ]
    # The command line wins over the environment.
    env = {"BATON_DELETE_RESOURCE": "u1", "BATON_DELETE_RESOURCE_TYPE": "user"}
    assert translate(["--delete-resource", "u2", "--plugin", "demo"], env=env)[:3] == [
        "delete-resource",
        "-r",
        "user:u2",
    ]

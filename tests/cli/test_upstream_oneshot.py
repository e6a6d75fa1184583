"""The translation of upstream's one-shot flags (cli.md §2 priority, §4 constraints), without a process."""

from __future__ import annotations

import pytest

from baton_cli.cli.upstream_oneshot import translate
from baton_cli.errors import UsageError


def test_other_command_lines_are_left_alone() -> None:
    assert translate([]) is None
    assert translate(["tickets", "schemas", "--list-ticket-schemas"]) is None  # a subcommand comes first
    assert translate(["--help"]) is None
    assert translate(["--plugin", "demo"]) is None


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


def test_earlier_one_shot_actions_are_pointed_elsewhere() -> None:
    with pytest.raises(UsageError, match="--create-account-login is another of upstream's one-shot actions"):
        translate(["--create-account-login", "bob", "--invoke-action", "x"])

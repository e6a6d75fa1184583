"""upstream's one-shot flags for tickets, actions and event feeds (cli.md §2, §3.4, §4), as aliases.

A connector binary built with the Go SDK runs, e.g., ``baton-x --list-ticket-schemas``;
``baton --plugin x --list-ticket-schemas`` does the same here: the flags are
checked with upstream's constraints (flags required together, groups of
mutually exclusive flags), the first action in upstream's priority order wins,
and the command line is rewritten to the matching ``baton tickets|actions|events``
command, keeping every other argument (``--plugin``, plugin fields, ``-o json``).

Only a command line that starts with an option and names one of these actions
is rewritten; anything else reaches the normal commands untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from baton_cli.errors import UsageError

# Flags that take a value; every other upstream flag here is a switch (cobra bools take =VALUE).
VALUE_FLAGS = frozenset(
    {
        "--ticket-template-path",
        "--bulk-ticket-template-path",
        "--ticket-id",
        "--invoke-action",
        "--invoke-action-args",
        "--invoke-action-resource-type",
        "--list-action-schemas-resource-type",
        "--event-feed",
        "--event-feed-id",
        "--event-feed-start-at",
        "--event-feed-cursor",
        # Other one-shot actions: only looked at for the constraints below.
        "--grant-entitlement",
        "--revoke-grant",
        "--create-account-login",
        "--create-account-email",
        "--delete-resource",
        "--delete-resource-type",
        "--rotate-credentials",
        "--rotate-credentials-type",
        "--base-sync-id",
        "--applied-sync-id",
    }
)
SWITCH_FLAGS = frozenset(
    {
        "--create-ticket",
        "--bulk-create-ticket",
        "--list-ticket-schemas",
        "--get-ticket",
        "--list-action-schemas",
    }
    | {"--diff-syncs", "--compact-syncs"}
)

# cli.md §4, in upstream's order.
REQUIRED_TOGETHER = (
    ("--create-ticket", "--ticket-template-path"),
    ("--bulk-create-ticket", "--bulk-ticket-template-path"),
    ("--get-ticket", "--ticket-id"),
)
MUTUALLY_EXCLUSIVE = (
    (
        "--grant-entitlement",
        "--revoke-grant",
        "--create-account-login",
        "--delete-resource",
        "--rotate-credentials",
        "--event-feed",
        "--create-ticket",
        "--get-ticket",
        "--list-ticket-schemas",
        "--bulk-create-ticket",
    ),
    (
        "--grant-entitlement",
        "--revoke-grant",
        "--create-account-email",
        "--delete-resource-type",
        "--rotate-credentials-type",
        "--event-feed",
        "--diff-syncs",
        "--compact-syncs",
        "--list-ticket-schemas",
    ),
)
# The actions this module handles, in upstream's priority order (cli.md §2 rows 3, 6, 7, 10-13).
ACTIONS = (
    "--event-feed",
    "--invoke-action",
    "--list-action-schemas",
    "--create-ticket",
    "--bulk-create-ticket",
    "--list-ticket-schemas",
    "--get-ticket",
)
# Actions of other one-shot modes that come before ours in upstream's order (rows 1, 2, 4, 5).
EARLIER_ACTIONS = ("--grant-entitlement", "--revoke-grant", "--create-account-login")
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True, slots=True)
class Parsed:
    values: dict[str, str]  # upstream flag -> its value ("true" for a bare switch)
    rest: list[str]  # everything else, in order


def _parse(argv: Sequence[str]) -> Parsed:
    values: dict[str, str] = {}
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        name, eq, inline = arg.partition("=")
        if name in VALUE_FLAGS:
            if eq:
                values[name] = inline
            elif i + 1 < len(items):
                values[name] = items[i + 1]
                i += 1
            else:
                raise UsageError(f"flag needs an argument: {name}")
        elif name in SWITCH_FLAGS:
            values[name] = inline if eq else "true"
        else:
            rest.append(arg)
        i += 1
    return Parsed(values, rest)


def _is_set(values: dict[str, str], flag: str) -> bool:
    """cobra counts a flag as set when it was given; a switch given as =false is still "changed"."""
    return flag in values


def _truth(values: dict[str, str], flag: str) -> bool:
    value = values.get(flag, "false")
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    raise UsageError(f'invalid argument "{value}" for "{flag}" flag: expected true or false')


def check_constraints(values: dict[str, str]) -> None:
    """cobra's flag-group errors, worded as upstream's binaries print them."""
    for pair in REQUIRED_TOGETHER:
        given = [flag for flag in pair if _is_set(values, flag)]
        if given and len(given) != len(pair):
            missing = _names([flag for flag in pair if flag not in given])
            raise UsageError(
                f"if any flags in the group [{_names(pair)}] are set they must all be set; "
                f"missing [{missing}]"
            )
    for group in MUTUALLY_EXCLUSIVE:
        given = [flag for flag in group if _is_set(values, flag)]
        if len(given) > 1:
            raise UsageError(
                f"if any flags in the group [{_names(group)}] are set none of the others can be; "
                f"[{_names(given)}] were all set"
            )


def _names(flags: Sequence[str]) -> str:
    return " ".join(flag.lstrip("-") for flag in flags)


def translate(argv: Sequence[str]) -> list[str] | None:
    """The ``baton`` command line for an upstream-style one, or None when it is not one."""
    if not argv or not argv[0].startswith("-") or argv[0] in ("-h", "--help", "--version"):
        return None
    if not any(arg.partition("=")[0] in ACTIONS for arg in argv):
        return None
    parsed = _parse(argv)
    values = parsed.values
    check_constraints(values)
    earlier = [flag for flag in EARLIER_ACTIONS if values.get(flag)]
    if earlier:
        raise UsageError(f"{earlier[0]} is another of upstream's one-shot actions: use its `baton` command")
    rest = parsed.rest
    if _truth_string(values.get("--event-feed", "")):
        argv_out = ["events", "list", "--all"]
        for flag, ours in (
            ("--event-feed-id", "--feed-id"),
            ("--event-feed-start-at", "--start-at"),
            ("--event-feed-cursor", "--cursor"),
        ):
            if values.get(flag):
                argv_out += [ours, values[flag]]
        return argv_out + rest
    if values.get("--invoke-action"):
        argv_out = [
            "actions",
            "invoke",
            values["--invoke-action"],
            "--args",
            values.get("--invoke-action-args") or "{}",
        ]
        if values.get("--invoke-action-resource-type"):
            argv_out += ["--resource-type", values["--invoke-action-resource-type"]]
        return argv_out + rest
    if _truth(values, "--list-action-schemas"):
        argv_out = ["actions", "list"]
        if values.get("--list-action-schemas-resource-type"):
            argv_out += ["--resource-type", values["--list-action-schemas-resource-type"]]
        return argv_out + rest
    if _truth(values, "--create-ticket"):
        return ["tickets", "create", "--template", values["--ticket-template-path"], *rest]
    if _truth(values, "--bulk-create-ticket"):
        return ["tickets", "bulk-create", "--template", values["--bulk-ticket-template-path"], *rest]
    if _truth(values, "--list-ticket-schemas"):
        return ["tickets", "schemas", *rest]
    if _truth(values, "--get-ticket"):
        return ["tickets", "get", values["--ticket-id"], *rest]
    return None


def _truth_string(value: str) -> bool:
    """``--event-feed`` is a string flag upstream reads as a bool; anything unparsable is false."""
    return value in GO_TRUE

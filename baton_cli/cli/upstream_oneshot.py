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

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from baton_cli.errors import BatonError, StatusCode, UsageError

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
        # The provisioning one-shot actions (cli.md §2 rows 1, 2, 4, 5, 8, 9).
        "--grant-entitlement",
        "--grant-principal",
        "--grant-principal-type",
        "--revoke-grant",
        "--create-account-login",
        "--create-account-email",
        "--create-account-profile",
        "--create-account-resource-type",
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
    ("--grant-entitlement", "--grant-principal"),
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


# Switches upstream's one-shot actions turn on by themselves (cli.md §3.3): accepted, dropped.
AUTO_ENABLED = frozenset({"--provisioning", "-p", "--ticketing"})
# upstream one-shot modes with no `baton` equivalent yet.
NOT_SUPPORTED = {"--diff-syncs": "baton diff", "--compact-syncs": ""}


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The one-shot flags' ``BATON_*`` twins (cli.md §3.4); the command line wins over them."""
    found = {}
    for flag in VALUE_FLAGS | SWITCH_FLAGS:
        value = env.get("BATON_" + flag.lstrip("-").upper().replace("-", "_"), "")
        if value:  # an empty variable counts as unset, as in viper
            found[flag] = value
    return found


def _daemon_requested(argv: Sequence[str], env: Mapping[str, str]) -> bool:
    """Daemon mode iff a client id is set (cli.md §2), on the command line or in the environment."""
    for index, arg in enumerate(argv):
        name, eq, inline = arg.partition("=")
        if name == "--client-id":
            return bool(inline if eq else (argv[index + 1] if index + 1 < len(argv) else ""))
    return bool(env.get("BATON_CLIENT_ID"))


def translate(argv: Sequence[str], env: Mapping[str, str] | None = None) -> list[str] | None:
    """The ``baton`` command line for an upstream-style one, or None when it is not one.

    A command line that starts with an option is an upstream connector binary's: with a client
    id it is the daemon (``baton run``), with a one-shot action flag that action, else a sync.
    """
    if not argv or not argv[0].startswith("-") or argv[0] in ("-h", "--help", "--version"):
        return None
    env = os.environ if env is None else env
    parsed = _parse(argv)
    values = {**_from_env(env), **parsed.values}
    check_constraints(values)
    if _daemon_requested(argv, env):
        return ["run", *parsed.rest]  # one-shot action flags are ignored in daemon mode, as upstream
    rest = [arg for arg in parsed.rest if arg.partition("=")[0] not in AUTO_ENABLED]
    provisioning = _provisioning(values, rest)
    if provisioning is not None:
        return provisioning
    if not any(flag in values for flag in ACTIONS):
        for flag, instead in NOT_SUPPORTED.items():
            if _truth(values, flag):
                hint = f" (see `{instead}`)" if instead else ""
                raise BatonError(f"{flag} is not supported yet{hint}", code=StatusCode.UNIMPLEMENTED)
        return ["sync", *rest]
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


def _provisioning(values: dict[str, str], rest: list[str]) -> list[str] | None:
    """cli.md §2 rows 1, 2, 4, 5, 8 and 9 as `baton grant|revoke|create-account|...` (first wins).

    Rows 1 and 2 come before the event feed (row 3) and rows 8 and 9 after the action rows (6, 7),
    so only the rows that come before every other action are taken first.
    """
    if values.get("--grant-entitlement"):
        kind = values.get("--grant-principal-type", "")
        if not kind:
            raise UsageError(
                "--grant-principal-type is required with --grant-principal (the principal's type)"
            )
        principal = f"{kind}:{values['--grant-principal']}"
        return ["grant", "-e", values["--grant-entitlement"], "--principal", principal, *rest]
    if values.get("--revoke-grant"):
        return ["revoke", "--grant-id", values["--revoke-grant"], *rest]
    if _truth_string(values.get("--event-feed", "")):
        return None
    account = _account(values, rest)
    if account is not None:
        return account
    if values.get("--invoke-action") or _truth(values, "--list-action-schemas"):
        return None
    for flag, command in (
        ("--delete-resource", "delete-resource"),
        ("--rotate-credentials", "rotate-credentials"),
    ):
        if values.get(flag):
            kind = values.get(f"{flag}-type", "")
            if not kind:
                raise UsageError(f"{flag}-type is required with {flag} (the resource's type)")
            return [command, "-r", f"{kind}:{values[flag]}", *rest]
    return None


def _account(values: dict[str, str], rest: list[str]) -> list[str] | None:
    profile_text = values.get("--create-account-profile", "")
    login = values.get("--create-account-login", "")
    if not profile_text and not login:
        return None  # an email alone does not create an account (cli.md §2 row 5)
    email = values.get("--create-account-email", "")
    if profile_text:
        try:
            profile = json.loads(profile_text)
        except json.JSONDecodeError as error:
            raise UsageError(f"--create-account-profile must be a JSON object: {error.msg}") from None
        if not isinstance(profile, dict):
            raise UsageError("--create-account-profile must be a JSON object")
        login = login or str(profile.get("login", ""))
        email = email or str(profile.get("email", ""))
        if not login:
            raise UsageError(
                "--create-account-profile needs a login (in the profile or --create-account-login)"
            )
    argv = ["create-account", "--login", login]
    argv += ["--email", email] if email else []
    argv += ["--profile", profile_text] if profile_text else []
    if values.get("--create-account-resource-type"):
        argv += ["-t", values["--create-account-resource-type"]]
    return argv + rest


def _truth_string(value: str) -> bool:
    """``--event-feed`` is a string flag upstream reads as a bool; anything unparsable is false."""
    return value in GO_TRUE

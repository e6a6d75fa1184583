"""THE one place where CLI options shared between commands are declared.

Every option that more than one command takes (or that mirrors an upstream connector flag,
cli.md §3) is an ``Annotated`` alias here, so the flag name, short name, ``BATON_*``
environment variable, metavar and help read the same everywhere. A command uses one like::

    from baton_cli.cli import options as opt

    def sync(plugin: opt.Plugin, file: opt.File = opt.DEFAULT_FILE, output: opt.Output = opt.CONSOLE):
        ...

How to add one:

1. Declare it with :func:`option`: the first name is the long flag; the environment variable is
   derived from it (``--log-level`` -> ``BATON_LOG_LEVEL``, cli.md §1) unless ``envvar=None``
   says the option has none (or ``envvar="BATON_OTHER"`` names another).
2. Give it an explicit ``metavar`` (``FILE``, ``N``, ``ID``, ``LIST``...): help never shows
   Python type names, and switches (``bool``) take no metavar.
3. Put the default in the command's signature (``= opt.DEFAULT_FILE``), as Typer's
   ``Annotated`` style wants; keep the default constants here too when several commands share them.
4. String-slice options (upstream ``SS``) are ``str`` holding a comma-separated list, parsed with
   :func:`csv_list`, so the env var, the config file and the flag all spell a list the same way.

Nothing here may import the engine, c1z, protobuf or the emulator: every command's signature
imports this module, and ``baton --help`` must stay light.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from baton_cli.errors import BatonError, StatusCode, UsageError

ENV_PREFIX = "BATON_"
_DERIVE = "derive"


def env_var(flag: str) -> str:
    """``--client-id`` -> ``BATON_CLIENT_ID``: upstream's rule for every field (cli.md §1)."""
    return ENV_PREFIX + flag.lstrip("-").upper().replace("-", "_")


def option(*names: str, help: str, envvar: str | None = _DERIVE, **kwargs: Any) -> Any:
    """A ``typer.Option`` whose environment variable follows the ``BATON_*`` rule of its long name."""
    if envvar == _DERIVE:
        envvar = env_var(names[0])
    return typer.Option(*names, envvar=envvar, help=help, **kwargs)


def csv_list(text: str, *, flag: str = "list") -> list[str]:
    """A comma-separated list value, read as CSV like upstream's string-slice flags.

    Upstream parses these with a CSV reader, so a double-quoted item may hold commas: an LDAP DN
    such as ``"group:cn=admins,dc=example,dc=org"`` stays one item. Empty items are dropped.
    """
    import csv

    if not text.strip():
        return []
    try:
        rows = list(csv.reader([text], strict=True, skipinitialspace=True))
    except csv.Error as exc:
        raise UsageError(f"{flag}: {text!r} is not a valid comma-separated list ({exc})") from None
    return [item.strip() for row in rows for item in row if item.strip()]


def complete_plugin(incomplete: str) -> list[str]:
    """``--plugin <TAB>``: installed plugin names (entry points read from metadata, none imported)."""
    from baton_cli.connector.loader import plugin_names

    return [name for name in plugin_names() if name.startswith(incomplete)]


class OutputFormat(StrEnum):
    """``-o/--output``: console for people, json for scripts (``--json`` is the same as ``-o json``)."""

    console = "console"
    json = "json"


class ProgressMode(StrEnum):
    """``--progress``: one vocabulary for every live display (sync, daemon, emulator)."""

    auto = "auto"
    rich = "rich"
    plain = "plain"
    off = "off"


DEFAULT_FILE = Path("sync.c1z")
CONSOLE = OutputFormat.console

# -- which plugin, which file, what output ----------------------------------------------------------

Plugin = Annotated[
    str,
    option(
        "--plugin",
        metavar="NAME",
        help="Connector plugin: an installed name (see `baton plugins`) or package.module:attr.",
        autocompletion=complete_plugin,
    ),
]
PluginOptional = Annotated[
    str | None,
    option(
        "--plugin",
        metavar="NAME",
        help="Connector plugin: an installed name (see `baton plugins`) or package.module:attr.",
        autocompletion=complete_plugin,
    ),
]
Config = Annotated[
    Path | None,
    option(
        "--config",
        envvar="BATON_CONFIG_PATH",
        metavar="FILE",
        help="YAML file (.yaml/.yml) of runner options and plugin fields; default ./.baton.yaml.",
    ),
]
File = Annotated[
    Path,
    option("--file", "-f", metavar="FILE", help="The c1z file.", show_default=True),
]
SyncOut = Annotated[
    Path,
    option("--file", "-f", "--out", metavar="FILE", help="The c1z file to write.", show_default=True),
]
ProvisionFile = Annotated[
    Path,
    option(
        "--file",
        "-f",
        metavar="FILE",
        help="c1z file to look objects up in (if it exists), as upstream's one-shot mode.",
        show_default=True,
    ),
]
Output = Annotated[
    OutputFormat,
    option(
        "--output",
        "-o",
        envvar=None,
        help="console for people, json for scripts; --json is the same as -o json.",
        show_default=True,
    ),
]
Progress = Annotated[
    ProgressMode,
    option(
        "--progress",
        envvar=None,
        help="Live display on stderr: auto is rich on a terminal, plain elsewhere; off prints nothing.",
        show_default=True,
    ),
]
C1ZTempDir = Annotated[
    Path | None,
    option("--c1z-temp-dir", metavar="DIR", help="Directory for c1z work files (default: the OS temp dir)."),
]

# -- sync behaviour (cli.md §3.2) -------------------------------------------------------------------

SyncResources = Annotated[
    str,
    option(
        "--sync-resources",
        metavar="LIST",
        help=(
            "Targeted sync of these resources: TYPE:ID or bid:r: Baton IDs, comma separated "
            "(quote an item holding commas)."
        ),
    ),
]
SyncResourceTypes = Annotated[
    str, option("--sync-resource-types", metavar="LIST", help="Only these resource types, comma separated.")
]
SkipEntitlementsAndGrants = Annotated[
    bool, option("--skip-entitlements-and-grants", help="Resources only (a resources_only sync).")
]
SkipGrants = Annotated[bool, option("--skip-grants", help="Skip grants (only with --sync-resources).")]
SkipExpandGrants = Annotated[
    bool, option("--skip-expand-grants", help="Leave grant expansion to the platform.")
]
Workers = Annotated[
    int,
    option(
        "--workers",
        metavar="N",
        help=(
            "Connector calls a sync makes at once: -1 auto (min(CPUs, 4)), 0 or 1 sequential; more "
            "lists resources' entitlements, grants and child resources in parallel."
        ),
    ),
]
ParallelSync = Annotated[bool, option("--parallel-sync", help="Deprecated: the same as --workers -1.")]


def requested_workers(workers: int, parallel_sync: bool) -> int:
    """The ``--workers`` value to use; ``--parallel-sync`` means auto unless a count was given."""
    if workers < -1:
        raise UsageError(f"--workers must be -1 (auto), 0, 1 or more, got {workers}")
    return -1 if parallel_sync and workers in (0, 1) else workers


# -- the daemon (cli.md §3.1) -----------------------------------------------------------------------

ClientId = Annotated[
    str,
    option("--client-id", metavar="ID", help="ConductorOne client id (NAME@HOST/pcc); enables the daemon."),
]
ClientSecret = Annotated[
    str,
    option(
        "--client-secret",
        metavar="SECRET",
        help="ConductorOne client secret; prefer the environment variable to the command line.",
        show_default=False,
    ),
]
CAFile = Annotated[
    Path | None,
    option(
        "--ca-file",
        metavar="FILE",
        help="PEM CA bundle to verify the platform with (e.g. the emulator's); default: system roots.",
    ),
]
TaskConcurrency = Annotated[
    int, option("--task-concurrency", metavar="N", min=1, max=100, help="Tasks run at once (1..100).")
]
# On `baton run`, -p is --provisioning, as upstream (cli.md §3.3); --plugin has no short form.
Provisioning = Annotated[
    bool,
    option(
        "--provisioning",
        "-p",
        help="Allow tasks that change the connected system (grant, revoke, create, delete, rotate...).",
    ),
]
Ticketing = Annotated[bool, option("--ticketing", help="Allow ticket tasks (create, get, list schemas).")]
DEFAULT_SHUTDOWN_GRACE = 30.0
ShutdownGrace = Annotated[
    float,
    option(
        "--shutdown-grace",
        metavar="SECONDS",
        min=0.0,
        help="After SIGTERM or Ctrl-C, how long running tasks get to finish before they are cancelled.",
    ),
]

# -- sync ids and inspection filters ----------------------------------------------------------------

SyncId = Annotated[
    str | None,
    option(
        "--sync-id",
        envvar=None,
        metavar="ID",
        help="Sync to read (default: the latest finished full sync, as upstream).",
    ),
]
ResourceType = Annotated[
    str | None,
    option("--resource-type", "-t", envvar=None, metavar="TYPE", help="Only this resource type id."),
]
Resource = Annotated[
    str | None,
    option(
        "--resource",
        "-r",
        envvar=None,
        metavar="TYPE:ID",
        help="Only this resource: its id with -t, else TYPE:ID.",
    ),
]
Entitlement = Annotated[
    str | None, option("--entitlement", "-e", envvar=None, metavar="ID", help="Only this entitlement id.")
]


# -- logging (cli.md §3.5) ---------------------------------------------------------------------------


class LogFormatChoice(StrEnum):
    """``--log-format``: upstream's default is console on a terminal, json otherwise."""

    console = "console"
    json = "json"


DEFAULT_LOG_LEVEL = "info"
LogLevel = Annotated[
    str,
    option(
        "--log-level",
        metavar="LEVEL",
        help="debug, info, warn or error.",
    ),
]
LogFormat = Annotated[
    LogFormatChoice | None,
    option(
        "--log-format",
        metavar="FORMAT",
        help="console or json (default: console on a terminal, json otherwise).",
        show_default=False,
    ),
]


# -- the daemon's health server (cli.md §3.1, §5) ------------------------------------------------------

DEFAULT_HEALTH_PORT = 8081
DEFAULT_HEALTH_BIND = "127.0.0.1"
HealthCheck = Annotated[
    bool, option("--health-check", help="Serve /health, /ready, /live and /metrics over HTTP.")
]
HealthCheckPort = Annotated[
    int, option("--health-check-port", metavar="PORT", min=0, max=65535, help="Port of the health server.")
]
HealthCheckBindAddress = Annotated[
    str,
    option("--health-check-bind-address", metavar="ADDRESS", help="Address the health server listens on."),
]

SkipFullSync = Annotated[
    bool, option("--skip-full-sync", help="Sync tasks upload an empty finished full sync instead of syncing.")
]


# -- upstream flags accepted for compatibility (cli.md §3.2) ----------------------------------------


def _not_supported(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """Refuses an upstream flag we do not implement, by name, instead of "unknown flag"."""
    if value:
        raise BatonError(f"{param.opts[0]} is not supported yet", code=StatusCode.UNIMPLEMENTED)
    return value


STORAGE_ENGINES = ("", "sqlite", "pebble")


def check_storage_engine(engine: str) -> None:
    """``--storage-engine`` is accepted; we always write v1 (SQLite) files, and say so for pebble."""
    if engine not in STORAGE_ENGINES:
        raise UsageError(f"--storage-engine must be sqlite or pebble, got {engine!r}")
    if engine == "pebble":
        typer.echo(
            "note: --storage-engine pebble: baton writes v1 (SQLite) c1z files, which every upstream "
            "reader opens (the SDK reads both engines)",
            err=True,
        )


StorageEngine = Annotated[
    str,
    option(
        "--storage-engine",
        metavar="ENGINE",
        help="sqlite or pebble (upstream's); baton always writes v1 SQLite c1z files, which upstream reads.",
    ),
]
DEFAULT_HTTP_TIMEOUT_SECONDS = 300
HttpTimeoutSeconds = Annotated[
    int,
    option(
        "--http-timeout-seconds",
        metavar="SECONDS",
        min=1,
        max=1800,
        help="HTTP client timeout, 1..1800 (upstream's; a plugin's own HTTP clients set theirs).",
    ),
]
ExternalResourceC1Z = Annotated[
    str,
    option(
        "--external-resource-c1z",
        metavar="FILE",
        callback=_not_supported,
        help="Not supported yet: a c1z of another connector to resolve external principals.",
    ),
]
ExternalResourceEntitlementIdFilter = Annotated[
    str,
    option(
        "--external-resource-entitlement-id-filter",
        metavar="ID",
        callback=_not_supported,
        hidden=True,
        help="Not supported yet (needs --external-resource-c1z).",
    ),
]
ExternalResourceTraits = Annotated[
    str,
    option(
        "--external-resource-traits",
        metavar="LIST",
        callback=_not_supported,
        hidden=True,
        help="Not supported yet (needs --external-resource-c1z).",
    ),
]
DEFAULT_SESSION_STORE_MAXIMUM_SIZE = 15728640
SessionStoreMaximumSize = Annotated[
    int,
    option(
        "--session-store-maximum-size",
        metavar="BYTES",
        hidden=True,
        help="Upstream's connector-child session cache size; accepted, baton keeps no session cache.",
    ),
]

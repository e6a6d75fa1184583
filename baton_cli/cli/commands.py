"""The ``baton`` command table, and the group that imports a command's module only when it runs.

``baton --help``, ``baton --version`` and ``baton <TAB>`` read this table and nothing else, so
they start without the sync engine, the c1z reader, protobuf or the emulator (issue 13). A new
command is one row here (name, module with ``register(app)``, one-line help of at most 60
characters so the listing never truncates at 80 columns).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup

try:  # Typer 0.29 converts through Pydantic; param_coercion replaces that for our option types
    from baton_cli.cli.param_coercion import install_all as direct_conversions
except ImportError:  # pragma: no cover - an older Typer has no Pydantic conversion to replace

    def direct_conversions(params: Iterable[Any]) -> None:
        return None


try:  # newer typer releases vendor click
    from typer._click import Command, Context, HelpFormatter
    from typer._click.shell_completion import CompletionItem
except ImportError:  # pragma: no cover - older typer on real click
    from click import Command, Context, HelpFormatter  # type: ignore[assignment]
    from click.shell_completion import CompletionItem  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Entry:
    module: str
    short_help: str
    hidden: bool = False


# Listing order is the order a new user meets them in the README.
COMMANDS: dict[str, Entry] = {
    "sync": Entry("baton_cli.cli.sync_cmd", "Sync a connector plugin into a c1z file."),
    "run": Entry("baton_cli.cli.run_cmd", "Run a plugin as a daemon taking tasks from the platform."),
    "health-check": Entry("baton_cli.cli.health_cmd", "Ask a running daemon's health server."),
    "grant": Entry("baton_cli.cli.provision_cmd", "Grant an entitlement to a principal."),
    "revoke": Entry("baton_cli.cli.provision_cmd", "Revoke a grant."),
    "delete-resource": Entry("baton_cli.cli.provision_cmd", "Delete a resource."),
    "create-account": Entry("baton_cli.cli.provision_cmd", "Create an account."),
    "rotate-credentials": Entry("baton_cli.cli.provision_cmd", "Rotate a resource's credentials."),
    "create-resource": Entry("baton_cli.cli.resource_cmd", "Create a resource."),
    "issue-credential": Entry("baton_cli.cli.resource_cmd", "Issue a credential (API key, token...)."),
    "tickets": Entry("baton_cli.cli.services_cmd", "The connector's tickets: schemas, get, create."),
    "actions": Entry("baton_cli.cli.services_cmd", "The connector's actions: list, get, invoke, status."),
    "events": Entry("baton_cli.cli.services_cmd", "The connector's event feeds: feeds, list."),
    "expand": Entry("baton_cli.cli.expand_cmd", "Finish the grant expansion of a sync, offline."),
    "resource-types": Entry("baton_cli.cli.inspect_list", "List the resource types of a sync."),
    "resources": Entry("baton_cli.cli.inspect_list", "List resources."),
    "entitlements": Entry("baton_cli.cli.inspect_list", "List entitlements."),
    "principals": Entry("baton_cli.cli.inspect_list", "List principals that hold a grant."),
    "grants": Entry("baton_cli.cli.inspect_grants", "List grants."),
    "access": Entry("baton_cli.cli.inspect_access", "Effective access of one principal."),
    "syncs": Entry("baton_cli.cli.inspect_syncs", "List the sync runs in a c1z file."),
    "stats": Entry("baton_cli.cli.inspect_syncs", "Counts of one sync."),
    "diff": Entry("baton_cli.cli.inspect_diff", "What changed between two syncs."),
    "export": Entry("baton_cli.cli.inspect_export", "Export a sync as CSV or JSON lines."),
    "capabilities": Entry("baton_cli.cli.capabilities_cmd", "A plugin's ConnectorCapabilities as JSON."),
    "config": Entry("baton_cli.cli.config_cmd", "The effective configuration and its sources."),
    "plugins": Entry("baton_cli.cli.plugins_cmd", "List installed plugins, or show one's fields."),
    "new": Entry("baton_cli.cli.new_cmd", "Start a new connector package from a template."),
    "emulator": Entry("baton_cli.cli.emulator_cmd", "A local ConductorOne platform for tests."),
    "completion": Entry("baton_cli.cli.completion_cmd", "Print the shell completion script."),
}

JSON_ALIAS = "--json"
_ROOT_OPTIONS = ("-h", "--help", "--version")


def _json_alias(args: list[str]) -> list[str]:
    """``--json`` is ``-o json`` (kept from before -o existed); plugin flags after ``--`` are left."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return out + args[index:]
        out.append("--output=json" if arg == JSON_ALIAS else arg)
    return out


def _walk(command: Command) -> Iterator[Command]:
    yield command
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            yield from _walk(sub)


# Help names a value by what it is, never by its Python type (`<str>`, `<list[str]>`).
_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "bool": "BOOL", "datetime": "TIME"}


def _metavar(param: Any) -> str | None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or param.metavar is not None or getattr(param, "is_flag", False):
        return None
    if descriptor.is_choice:
        return None  # <console|json> already says what it takes
    if descriptor.is_path:
        return "PATH"
    bare = str(param.bare_type())
    inner = bare.removeprefix("list[").removesuffix("]")
    return _METAVARS.get(inner, inner.upper())


def _complete_path(ctx: Context, param: Any, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(incomplete, type="file")]


def _no_type(ctx: Context) -> None:
    return None


def _finish(command: Command) -> Command:
    """Plain click help everywhere (no Rich emoji/markup, no ``<bool>``), ``--json`` where ``-o`` is."""
    for cmd in _walk(command):
        if hasattr(cmd, "rich_markup_mode"):
            cmd.rich_markup_mode = None
        for param in cmd.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and descriptor.is_path and param._custom_shell_complete is None:
                # Typer offers nothing for a path; a "file" item lets the shells list real paths.
                param._custom_shell_complete = _complete_path
            if isinstance(param, TyperArgument):
                # An argument's name (NAME, PATH) already says it; typer would add `<str>`.
                setattr(param, "display_type_rich", _no_type)  # noqa: B010
                continue
            metavar = _metavar(param)
            if metavar is not None:
                param.metavar = metavar
        has_output = any("--output" in getattr(p, "opts", ()) for p in cmd.params)

        def parse_args(
            ctx: Context,
            args: list[str],
            _cmd: Command = cmd,
            _original: Any = cmd.parse_args,
            _json: bool = has_output,
        ) -> list[str]:
            direct_conversions(_cmd.get_params(ctx))  # the help option is made per context
            result: list[str] = _original(ctx, _json_alias(list(args)) if _json else args)
            return result

        setattr(cmd, "parse_args", parse_args)  # noqa: B010 - an instance hook, not a subclass per command
    return command


_loaded: dict[str, Command] = {}


def load(name: str) -> Command | None:
    """The click command for ``name``, importing (once) the module that registers it."""
    entry = COMMANDS.get(name)
    if entry is None:
        return None
    if name not in _loaded:
        holder = typer.Typer(rich_markup_mode=None)
        holder.callback()(lambda: None)  # a callback makes typer build a group even for one command
        importlib.import_module(entry.module).register(holder)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        for sub_name, sub in group.commands.items():
            _loaded[sub_name] = _finish(sub)
    return _loaded.get(name)


class LazyGroup(TyperGroup):
    """The root group: lists and completes from :data:`COMMANDS`, imports a module on use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return load(cmd_name)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # An upstream connector binary takes its flags on the root command: route them.
        if "upstream" in COMMANDS and args and args[0].startswith("-") and args[0] not in _ROOT_OPTIONS:
            args = ["upstream", *args]
        direct_conversions(self.get_params(ctx))
        result: list[str] = super().parse_args(ctx, args)
        return result

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [(name, entry.short_help) for name, entry in COMMANDS.items() if not entry.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        items = [
            CompletionItem(name, help=entry.short_help)
            for name, entry in COMMANDS.items()
            if name.startswith(incomplete) and not entry.hidden
        ]
        if incomplete.startswith("-"):
            items += Command.shell_complete(self, ctx, incomplete)
        return items

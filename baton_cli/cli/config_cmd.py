"""``baton config [COMMAND] --plugin NAME ...``: the effective configuration, and where each value came from.

Every runner option of COMMAND (default ``sync``) and every field of the plugin, with its value
(secrets shown as ``<hidden>``) and its source: ``flag``, ``env`` (the ``BATON_*`` variable),
``file`` (the config file, with its path) or ``default`` - the same precedence the command uses
(cli.md §1). The plugin's field declarations (types, choices, limits) are ``baton plugins show``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import UsageError

HIDDEN = "<hidden>"
SECRET_OPTIONS = frozenset({"client_secret"})
_SOURCES = {"COMMANDLINE": "flag", "ENVIRONMENT": "env", "DEFAULT_MAP": "file", "DEFAULT": "default"}


def _shown(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value  # an enum choice
    return value


def register(app: typer.Typer) -> None:
    @app.command(
        "config",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help=(
            "Show the effective configuration of COMMAND (default: sync) for a plugin: every runner "
            "option and plugin field, its value (secrets masked) and where it came from "
            "(flag, BATON_* env, config file, default). Give the options as you would to COMMAND."
        ),
    )
    def config(
        ctx: typer.Context,
        command: Annotated[str, typer.Argument(metavar="COMMAND", help="The command to show.")] = "sync",
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        from baton_cli.cli import config_file
        from baton_cli.cli.commands import load
        from baton_cli.config_document import read_config_document

        target = load(command)
        if target is None or not hasattr(target, "params"):
            raise UsageError(f"no command {command!r} (see baton --help)")
        args = list(ctx.args)
        path = config_file.config_path(args, os.environ, Path.cwd())
        document = read_config_document(path) if path is not None else {}
        defaults = config_file.default_map(command, target, document).get(command)
        sub = target.make_context(command, args, parent=ctx, default_map=defaults, resilient_parsing=True)
        rows = []
        for param in target.params:
            long = next((o for o in getattr(param, "opts", ()) if o.startswith("--")), None)
            if long is None or param.name is None or getattr(param, "hidden", False) or long == "--help":
                continue
            source = sub.get_parameter_source(param.name)
            value = _shown(sub.params.get(param.name))
            if param.name in SECRET_OPTIONS and value:
                value = HIDDEN
            row: dict[str, Any] = {
                "name": long[2:],
                "value": value,
                "source": _SOURCES.get(source.name, "default") if source is not None else "default",
                "env": getattr(param, "envvar", None),
            }
            if row["source"] == "file":
                row["path"] = str(path)
            rows.append(row)
        fields = _plugin_fields(sub.params.get("plugin"), list(sub.args), path)
        if output is OutputFormat.json:
            body: dict[str, Any] = {
                "command": command,
                "config_file": str(path) if path else None,
                "options": rows,
                "plugin": fields,
            }
            typer.echo(json.dumps(body, indent=2, sort_keys=True))
            return
        typer.echo(f"baton {command}" + (f" (config file {path})" if path else " (no config file)"))
        _table([(r["name"], r["value"], r["source"]) for r in rows])
        if fields is not None:
            typer.echo(f"plugin {fields['name']}:")
            _table([(f["name"], f["value"], f["source"]) for f in fields["fields"]])


def _plugin_fields(spec: Any, argv: list[str], path: Path | None) -> dict[str, Any] | None:
    if not spec:
        return None
    from baton_cli.connector.config import config_sources
    from baton_cli.connector.loader import load_plugin
    from baton_cli.wiring import RUNNER_CONFIG_KEYS

    plugin = load_plugin(str(spec), cwd=Path.cwd())
    found = config_sources(
        plugin.fields, argv, os.environ, path, cwd=Path.cwd(), reserved_keys=RUNNER_CONFIG_KEYS
    )
    fields = []
    for field in plugin.fields:
        value, source = found[field.name]
        entry: dict[str, Any] = {
            "name": field.name,
            "value": HIDDEN if field.secret and value not in ("", None) else value,
            "source": source,
            "env": field.env_var,
        }
        if source == "file":
            entry["path"] = str(path)
        fields.append(entry)
    return {"name": plugin.name, "fields": fields}


def _table(rows: list[tuple[str, Any, str]]) -> None:
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, value, source in rows:
        text = "" if value is None else (",".join(map(str, value)) if isinstance(value, list) else str(value))
        typer.echo(f"  {name:<{width}}  {text:<20}  {source}")

"""``baton plugins``: which connector plugins are installed, and what they take."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from baton_cli.cli import options as opt
from baton_cli.cli.options import OutputFormat
from baton_cli.connector.loader import load_plugin
from baton_cli.wiring import describe_plugins, executable_help

plugins_app = typer.Typer(help="List installed connector plugins, or show one's configuration fields.")


@plugins_app.callback(invoke_without_command=True)
def plugins_list(
    ctx: typer.Context,
    output: opt.Output = opt.CONSOLE,
) -> None:
    """List installed connector plugins with version and capabilities."""
    if ctx.invoked_subcommand is not None:
        return
    described = describe_plugins()
    if output is OutputFormat.json:
        payload = [
            {
                "name": d.name,
                "version": d.version,
                "description": d.description,
                "target": d.target,
                "capabilities": list(d.capabilities) if d.capabilities is not None else None,
                **({"error": d.error} if d.error else {}),
                **({"path": d.path, "sdk_version": d.sdk_version} if d.path else {}),
            }
            for d in described
        ]
        typer.echo(json.dumps({"plugins": payload}, indent=2))
        return
    executables = [d for d in described if d.path]
    columns = ("name", "version", "capabilities", "description", *(("path", "sdk") if executables else ()))
    table = Table(*columns, box=None, pad_edge=False)
    for d in described:
        if d.error:
            capabilities = f"[red]broken: {d.error}[/red]"
        elif d.capabilities is None:
            capabilities = "(needs configuration)"
        else:
            capabilities = ", ".join(d.capabilities)
        extra = (d.path or "-", d.sdk_version or "-") if executables else ()
        table.add_row(d.name, d.version or "-", capabilities, d.description, *extra)
    Console().print(table)


@plugins_app.command("show")
def plugins_show(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="Plugin entry-point name or package.module:attr.",
            autocompletion=opt.complete_plugin,
        ),
    ],
    output: opt.Output = opt.CONSOLE,
) -> None:
    """Show a plugin's configuration fields (flag, env var, type, default); a connector
    executable's own --help."""
    executable = executable_help(name)
    if executable is not None:
        path, text = executable
        if output is OutputFormat.json:
            typer.echo(json.dumps({"name": name, "path": str(path), "help": text}, indent=2))
        else:
            typer.echo(f"{name}: {path}\n{text}".rstrip())
        return
    plugin = load_plugin(name)
    rows = [
        {
            "name": f.name,
            "flag": f.flag,
            "env": f.env_var,
            "type": f.type,
            # A secret's default is a secret too.
            "default": None if f.secret else f.default,
            "required": f.required,
            "secret": f.secret,
            "choices": list(f.choices),
            "minimum": f.minimum,
            "maximum": f.maximum,
            "description": f.description,
        }
        for f in plugin.fields
    ]
    if output is OutputFormat.json:
        typer.echo(
            json.dumps({"name": plugin.name, "description": plugin.description, "fields": rows}, indent=2)
        )
        return
    console = Console()
    console.print(f"[bold]{plugin.name}[/bold]: {plugin.description}")
    table = Table("flag", "env", "type", "default", "allowed", "description", box=None, pad_edge=False)
    for row in rows:
        default = "<secret>" if row["secret"] else ("" if row["default"] is None else str(row["default"]))
        flags = str(row["flag"]) + (" (required)" if row["required"] else "")
        table.add_row(
            flags, str(row["env"]), str(row["type"]), default, _allowed(row), str(row["description"])
        )
    console.print(table)


def _allowed(row: dict[str, Any]) -> str:
    """The field's constraints: its choices, or its integer range."""
    if row["choices"]:
        return "|".join(row["choices"])
    low, high = row["minimum"], row["maximum"]
    if low is None and high is None:
        return ""
    return f"{'' if low is None else f'{low:,}'}..{'' if high is None else f'{high:,}'}"


def register(app: typer.Typer) -> None:
    app.add_typer(plugins_app, name="plugins")

"""``baton new connector NAME``: start a connector package from a working template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baton_cli.scaffold import plan, write_scaffold

new_app = typer.Typer(help="Start something new from a template.", no_args_is_help=True)


@new_app.command("connector")
def new_connector(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Plugin name, kebab-case (e.g. acme-hr).")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to write the package (default: ./NAME); must be missing or empty."),
    ] = None,
) -> None:
    """Write an installable connector package: two resource types, a membership entitlement,
    config fields, kit tests and a README. It passes its tests right after `pip install -e`."""
    target = directory or Path(name)
    scaffold = plan(name)
    written = write_scaffold(name, target)
    typer.echo(
        f"Wrote {len(written)} files into {target}/ (package {scaffold.package}, plugin {scaffold.plugin})."
    )
    typer.echo("Next:")
    typer.echo(f"  pip install -e '{target}[test]'")
    typer.echo(f"  (cd {target} && pytest)")
    typer.echo(f"  baton sync --plugin {scaffold.plugin} --out sync.c1z")


def register(app: typer.Typer) -> None:
    app.add_typer(new_app, name="new")

"""The ``baton`` Typer app: the lazy command group and the root options.

Imported by :func:`baton_cli.cli.app.main` only when a command runs (``--version`` does not
need Typer at all).
"""

from __future__ import annotations

import typer

from baton_cli import __version__
from baton_cli.cli.commands import LazyGroup

# Help follows the terminal up to this width; click keeps a 50-column floor when piped.
HELP_MAX_WIDTH = 120

app = typer.Typer(
    name="baton",
    cls=LazyGroup,
    help=(
        "Run ConductorOne baton connectors: sync to a c1z file, provision, or serve the platform.\n\n"
        "An upstream connector binary's command line works too: baton --plugin NAME [--file F] "
        "[--client-id ID] [--grant-entitlement E ...] runs as that binary's root command would."
    ),
    no_args_is_help=True,
    add_completion=False,  # `baton completion SHELL` prints committed, reviewable scripts instead
    # Plain click help: Rich markup turns `:id:` into an emoji and shows `<bool>` on switches.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_MAX_WIDTH},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baton {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """The root options; the root's help is the app's ``help`` above (Typer's takes precedence)."""

"""``baton completion SHELL``: print a shell completion script."""

from __future__ import annotations

from enum import StrEnum

import typer

# The public typer.completion module re-exports this without declaring it.
from typer._completion_shared import get_completion_script

from baton_cli.cli.app import COMPLETE_VAR

PROG = "baton"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: Shell) -> str:
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value).rstrip() + "\n"


def register(app: typer.Typer) -> None:
    @app.command("completion")
    def completion(
        shell: Shell = typer.Argument(..., help="Shell to print the completion script for."),
    ) -> None:
        """Print the completion script for SHELL.

        For example: baton completion bash > ~/.local/share/bash-completion/completions/baton
        """
        typer.echo(completion_script(shell), nl=False)

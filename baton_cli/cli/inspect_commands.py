"""Registers the c1z inspection commands (GitHub issue #5) on the ``baton`` app."""

from __future__ import annotations

import typer

from baton_cli.cli import (
    inspect_access,
    inspect_diff,
    inspect_export,
    inspect_grants,
    inspect_list,
    inspect_syncs,
)


def register(app: typer.Typer) -> None:
    inspect_list.register(app)
    inspect_grants.register(app)
    inspect_access.register(app)
    inspect_syncs.register(app)
    inspect_diff.register(app)
    inspect_export.register(app)

"""One-shot `baton create-resource` and `baton issue-credential` through the daemon's handlers.

An issued secret leaves the handler only encrypted: to a one-time age key of
this process when ``--reveal`` asks to see it (text output only), and to every
``--age-recipient``; it never appears in ``-o json`` output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baton_cli.cli.oneshot_exec import (
    EXTRA,
    ConfigOption,
    OutputOption,
    PluginOption,
    emit,
    execute,
    wants_json,
)
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import UsageError

CONSOLE = OutputFormat.console


def register(app: typer.Typer) -> None:
    @app.command("create-resource", context_settings=EXTRA)
    def create_resource(
        ctx: typer.Context,
        plugin: PluginOption,
        resource_type: Annotated[
            str, typer.Option("--resource-type", "-t", help="Resource type to create.")
        ] = "",
        display_name: Annotated[str, typer.Option("--display-name", help="Display name.")] = "",
        login: Annotated[str, typer.Option("--login", help="Login (sent in a user trait).")] = "",
        email: Annotated[str, typer.Option("--email", help="Email (sent in a user trait).")] = "",
        resource_json: Annotated[
            Path | None, typer.Option("--resource-json", help="The whole Resource as protobuf JSON.")
        ] = None,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Create a resource through the plugin (its resource manager)."""
        from baton_cli.emulator import service_task_builders as sb

        task = sb.create_resource_task(
            resource_type, display_name=display_name, login=login, email=email, resource_json=resource_json
        )
        message = execute(ctx, plugin, config, task)
        emit(
            message,
            wants_json(output),
            lambda m: (
                f"created {m.created.id.resource_type}:{m.created.id.resource} ({m.created.display_name})"
            ),
        )

    @app.command("issue-credential", context_settings=EXTRA)
    def issue_credential(
        ctx: typer.Context,
        identity: Annotated[str, typer.Option("--identity", help="The identity TYPE:ID.")],
        plugin: PluginOption,
        kind: Annotated[
            str, typer.Option("--kind", help="api_key, token, client_secret or keypair.")
        ] = "api_key",
        scopes: Annotated[list[str] | None, typer.Option("--scope", help="Scope; repeatable.")] = None,
        expires_at: Annotated[str | None, typer.Option("--expires-at", help="Expiry, RFC 3339.")] = None,
        age_recipients: Annotated[
            list[str] | None,
            typer.Option("--age-recipient", help="Also encrypt the secret to this age recipient."),
        ] = None,
        reveal: Annotated[
            bool, typer.Option("--reveal", help="Print the new secret as text on stdout.")
        ] = False,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Issue a credential through the plugin; the secret is shown only with --reveal."""
        from baton_cli.cli.provision_cmd import _Revealer
        from baton_cli.emulator import service_task_builders as sb

        json_out = wants_json(output)
        if reveal and json_out:
            raise UsageError("--reveal prints secrets as text and cannot be combined with -o json")
        revealer = _Revealer(reveal)
        recipients = revealer.recipients(age_recipients)
        if not recipients:
            raise UsageError("issue-credential needs --reveal or --age-recipient: the secret is never kept")
        task = sb.issue_credential_task(
            identity, kind=kind, scopes=scopes or [], age_recipients=recipients, expires_at=expires_at
        )
        message = execute(ctx, plugin, config, task)
        emit(message, json_out, lambda m: _issued(m, identity))
        if message is not None:
            for line in revealer.lines(message):
                typer.echo(line)


def _issued(message: Any, identity: str) -> str:
    return f"issued a credential for {identity} ({len(message.encrypted_data)} encrypted)"


def _rid(rid: Any) -> str:
    return f"{rid.resource_type}:{rid.resource}"

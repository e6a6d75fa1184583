"""One-shot provisioning: `baton grant|revoke|create-account|delete-resource|rotate-credentials`.

Each builds the task the platform would send, runs it through the daemon's own
handlers against the plugin, and prints the result. Objects are taken from the
c1z file (`-f`, default `sync.c1z`) when it exists, as upstream's one-shot mode
does; otherwise tasks carry ids only. New credentials are never printed unless
`--reveal` asks for them, and never in `--json` output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from google.protobuf.json_format import MessageToDict

from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, StatusCode, UsageError
from baton_cli.wiring import PluginRequest, run_action

if TYPE_CHECKING:
    from baton_cli.core.task_source import Task
    from baton_cli.emulator.task_builders import C1ZCatalog

PLUGIN = typer.Option(
    ..., "--plugin", "-p", envvar="BATON_PLUGIN", help="Plugin entry-point name or module:attr."
)
FILE = typer.Option(
    Path("sync.c1z"),
    "--file",
    "-f",
    envvar="BATON_FILE",
    help="c1z file to look objects up in (if it exists).",
)
CONFIG = typer.Option(None, "--config", envvar="BATON_CONFIG_PATH", help="YAML file of plugin field values.")
JSON = typer.Option(False, "--json", help="Print the connector's response as JSON (never any secret).")
REVEAL = typer.Option(False, "--reveal", help="Print the new credentials as text on stdout.")
AGE = typer.Option(None, "--age-recipient", help="Also encrypt new credentials to this age recipient.")
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


@contextmanager
def _catalog(path: Path) -> Iterator[C1ZCatalog | None]:
    if not path.exists():
        yield None
        return
    from baton_cli.emulator.task_builders import C1ZCatalog

    with C1ZCatalog.open(path) as catalog:
        yield catalog


def _execute(
    ctx: typer.Context,
    plugin: str,
    config: Path | None,
    task: Task,
    *,
    as_json: bool,
    describe: Callable[[dict[str, Any]], str],
    reveal: Callable[[Any], list[str]] | None = None,
) -> None:
    from google.protobuf.any_pb2 import Any as AnyPb

    from baton_cli.core.task_source import Failure

    cancel = CancelToken()
    with cancel_on_sigint(cancel):
        outcome = run_action(
            PluginRequest(spec=plugin, args=list(ctx.args), config_file=config), task, cancel=cancel
        )
    if isinstance(outcome, Failure):
        raise BatonError(
            outcome.message, code=StatusCode(outcome.code) if outcome.code else StatusCode.UNKNOWN
        )
    body: dict[str, Any] = {}
    response: AnyPb | None = outcome.response
    message = None
    if response is not None:
        message = _unpack(response)
        body = MessageToDict(message) if message is not None else {}
    if as_json:
        typer.echo(json.dumps(body, indent=2, sort_keys=True))
    else:
        typer.echo(describe(body))
    if reveal is not None and message is not None:
        for line in reveal(message):
            typer.echo(line)


def _unpack(response: Any) -> Any:
    from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2

    for cls in (
        grant_pb2.GrantManagerServiceGrantResponse,
        grant_pb2.GrantManagerServiceRevokeResponse,
        resource_pb2.CreateAccountResponse,
        resource_pb2.DeleteResourceResponse,
        resource_pb2.DeleteResourceV2Response,
        resource_pb2.RotateCredentialResponse,
    ):
        if response.Is(cls.DESCRIPTOR):
            message = cls()
            response.Unpack(message)
            return message
    return None


class _Revealer:
    """A one-time age key: credentials are encrypted to it like to the platform's, then shown here."""

    def __init__(self, wanted: bool) -> None:
        import pyrage  # type: ignore[import-untyped]

        self.identity = pyrage.x25519.Identity.generate() if wanted else None

    def recipients(self, extra: list[str] | None) -> list[str]:
        own = [str(self.identity.to_public())] if self.identity is not None else []
        return own + list(extra or [])

    def lines(self, message: Any) -> list[str]:
        import pyrage

        if self.identity is None:
            return []
        shown = []
        for item in getattr(message, "encrypted_data", ()):
            try:
                plain = pyrage.decrypt(item.encrypted_bytes, [self.identity])
            except pyrage.DecryptError:
                continue  # encrypted for another recipient
            shown.append(f"{item.name or 'credential'}: {plain.decode('utf-8', 'replace')}")
        return shown


def _check_reveal(reveal: bool, as_json: bool) -> None:
    if reveal and as_json:
        raise UsageError("--reveal prints secrets as text and cannot be combined with --json")


def register(app: typer.Typer) -> None:
    @app.command("grant", context_settings=EXTRA)
    def grant(
        ctx: typer.Context,
        entitlement: str = typer.Option(..., "--entitlement", "-e", help="Entitlement id TYPE:ID:SLUG."),
        principal: str = typer.Option(..., "--principal", help="Principal TYPE:ID."),
        plugin: str = PLUGIN,
        file: Path = FILE,
        config: Path | None = CONFIG,
        as_json: bool = JSON,
    ) -> None:
        """Grant an entitlement to a principal through the plugin."""
        from baton_cli.emulator import task_builders as tb

        with _catalog(file) as catalog:
            task = tb.grant_task(entitlement, principal, catalog=catalog)
        _execute(
            ctx, plugin, config, task, as_json=as_json, describe=lambda b: _granted(b, entitlement, principal)
        )

    @app.command("revoke", context_settings=EXTRA)
    def revoke(
        ctx: typer.Context,
        entitlement: str = typer.Option(..., "--entitlement", "-e", help="Entitlement id TYPE:ID:SLUG."),
        principal: str = typer.Option(..., "--principal", help="Principal TYPE:ID."),
        grant_id: str | None = typer.Option(
            None, "--grant-id", help="Grant id (default ENTITLEMENT:PTYPE:PID)."
        ),
        plugin: str = PLUGIN,
        file: Path = FILE,
        config: Path | None = CONFIG,
        as_json: bool = JSON,
    ) -> None:
        """Revoke a principal's grant of an entitlement through the plugin."""
        from baton_cli.emulator import task_builders as tb

        with _catalog(file) as catalog:
            task = tb.revoke_task(entitlement, principal, grant_id=grant_id, catalog=catalog)
        _execute(
            ctx,
            plugin,
            config,
            task,
            as_json=as_json,
            describe=lambda _b: f"revoked {entitlement} from {principal}",
        )

    @app.command("delete-resource", context_settings=EXTRA)
    def delete_resource(
        ctx: typer.Context,
        resource: str = typer.Option(..., "--resource", "-r", help="Resource TYPE:ID."),
        plugin: str = PLUGIN,
        file: Path = FILE,
        config: Path | None = CONFIG,
        as_json: bool = JSON,
    ) -> None:
        """Delete a resource through the plugin."""
        from baton_cli.emulator import task_builders as tb

        with _catalog(file) as catalog:
            task = tb.delete_resource_task(resource, catalog=catalog)
        _execute(ctx, plugin, config, task, as_json=as_json, describe=lambda _b: f"deleted {resource}")

    @app.command("create-account", context_settings=EXTRA)
    def create_account(
        ctx: typer.Context,
        login: str = typer.Option(..., "--login", help="Account login."),
        email: list[str] | None = typer.Option(None, "--email", help="Email address; the first is primary."),
        resource_type: str = typer.Option("", "--resource-type", "-t", help="Account resource type."),
        profile: str | None = typer.Option(None, "--profile", help="Profile JSON object."),
        age_recipient: list[str] | None = AGE,
        reveal: bool = REVEAL,
        plugin: str = PLUGIN,
        config: Path | None = CONFIG,
        as_json: bool = JSON,
    ) -> None:
        """Create an account through the plugin; its new password is shown only with --reveal."""
        from baton_cli.emulator import task_builders as tb

        _check_reveal(reveal, as_json)
        revealer = _Revealer(reveal)
        task = tb.create_account_task(
            login,
            emails=email or [],
            resource_type_id=resource_type,
            profile_json=profile,
            password="random",
            age_recipients=revealer.recipients(age_recipient),
        )
        _execute(ctx, plugin, config, task, as_json=as_json, describe=_account, reveal=revealer.lines)

    @app.command("rotate-credentials", context_settings=EXTRA)
    def rotate_credentials(
        ctx: typer.Context,
        resource: str = typer.Option(..., "--resource", "-r", help="Resource TYPE:ID."),
        age_recipient: list[str] | None = AGE,
        reveal: bool = REVEAL,
        plugin: str = PLUGIN,
        config: Path | None = CONFIG,
        as_json: bool = JSON,
    ) -> None:
        """Rotate a resource's credentials through the plugin; shown only with --reveal."""
        from baton_cli.emulator import task_builders as tb

        _check_reveal(reveal, as_json)
        revealer = _Revealer(reveal)
        task = tb.rotate_credentials_task(resource, age_recipients=revealer.recipients(age_recipient))
        _execute(
            ctx,
            plugin,
            config,
            task,
            as_json=as_json,
            describe=lambda b: f"rotated credentials of {resource}" + _delivery(b, reveal),
            reveal=revealer.lines,
        )


def _delivery(body: dict[str, Any], reveal: bool) -> str:
    count = len(body.get("encryptedData", []))
    if count or reveal:
        return f" ({count} encrypted)"
    return " (the new secret was not kept: pass --reveal or --age-recipient to receive it)"


def _granted(body: dict[str, Any], entitlement: str, principal: str) -> str:
    ids = [g.get("id", "") for g in body.get("grants", [])]
    return f"granted {entitlement} to {principal}" + (f": {', '.join(ids)}" if ids else "")


def _account(body: dict[str, Any]) -> str:
    for key in ("success", "alreadyExists", "actionRequired", "inProgress"):
        if key in body:
            resource = body[key].get("resource", {}).get("id", {})
            who = f"{resource.get('resourceType', '?')}:{resource.get('resource', '?')}"
            return f"account {who}: {key}" + (
                f" ({len(body.get('encryptedData', []))} encrypted credentials)"
                if body.get("encryptedData")
                else ""
            )
    return "account created"

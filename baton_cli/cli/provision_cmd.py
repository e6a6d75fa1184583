"""One-shot provisioning: `baton grant|revoke|create-account|delete-resource|rotate-credentials`.

Each builds the task the platform would send, runs it through the daemon's own
handlers against the plugin, and prints the result. Objects are taken from the
c1z file (`-f`, default `sync.c1z`) when it exists, as upstream's one-shot mode
does; otherwise tasks carry ids only. New credentials are never printed unless
`--reveal` asks for them, and never in ``-o json`` output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from google.protobuf.json_format import MessageToDict

from baton_cli.cli import options as opt
from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.cli.options import OutputFormat
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, NotFoundError, StatusCode, UsageError
from baton_cli.wiring import PluginRequest, run_action

if TYPE_CHECKING:
    from baton_cli.core.task_source import Task
    from baton_cli.emulator.task_builders import C1ZCatalog

# Option types come from baton_cli.cli.options (one vocabulary); these are their defaults.
REVEAL = typer.Option("--reveal", help="Print the new credentials as text on stdout.")
AGE = typer.Option(
    "--age-recipient", metavar="RECIPIENT", help="Also encrypt new credentials to this age recipient."
)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


@contextmanager
def _catalog(path: Path) -> Iterator[C1ZCatalog | None]:
    if not path.exists():
        yield None
        return
    from baton_cli.emulator.task_builders import C1ZCatalog

    with C1ZCatalog.open(path) as catalog:
        yield catalog


@dataclass(frozen=True, slots=True)
class Invocation:
    """What every one-shot action needs: the plugin (with its flags) and the output format."""

    request: PluginRequest
    output: OutputFormat = OutputFormat.console

    @classmethod
    def of(
        cls,
        ctx: typer.Context,
        plugin: str,
        config: Path | None,
        output: OutputFormat,
        logs: tuple[str, opt.LogFormatChoice | None] = (opt.DEFAULT_LOG_LEVEL, None),
    ) -> Invocation:
        from baton_cli.cli.log_setup import configure_logging

        configure_logging(*logs)
        return cls(PluginRequest(spec=plugin, args=list(ctx.args), config_file=config), output)

    @property
    def as_json(self) -> bool:
        return self.output is OutputFormat.json


def _execute(
    invocation: Invocation,
    task: Task,
    *,
    describe: Callable[[dict[str, Any]], str],
    reveal: Callable[[Any], list[str]] | None = None,
) -> None:
    from google.protobuf.any_pb2 import Any as AnyPb

    from baton_cli.core.task_source import Failure

    cancel = CancelToken()
    with cancel_on_sigint(cancel):
        outcome = run_action(invocation.request, task, cancel=cancel)
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
    if invocation.as_json:
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


def _check_reveal(reveal: bool, invocation: Invocation, age_recipients: list[str], action: str) -> None:
    if reveal and invocation.as_json:
        raise UsageError("--reveal prints secrets as text and cannot be combined with -o json")
    if not reveal and not age_recipients:
        # Checked before the plugin is even loaded: the connector would make credentials that
        # nobody could ever read, and the old ones would already be gone.
        raise UsageError(
            f"{action} makes new credentials: pass --reveal to print them here, or "
            "--age-recipient RECIPIENT to get them encrypted to an age key"
        )


# -- the actions, shared by the subcommands and the upstream-style root flags ----------------------


def grant(invocation: Invocation, entitlement: str, principal: str, file: Path) -> None:
    from baton_cli.emulator import task_builders as tb

    with _catalog(file) as catalog:
        task = tb.grant_task(entitlement, principal, catalog=catalog)
    _execute(invocation, task, describe=lambda b: _granted(b, entitlement, principal))


def revoke(
    invocation: Invocation,
    file: Path,
    *,
    grant_id: str | None = None,
    entitlement: str | None = None,
    principal: str | None = None,
) -> None:
    from baton_cli.emulator import task_builders as tb

    with _catalog(file) as catalog:
        if entitlement is None or principal is None:
            if grant_id is None or (entitlement, principal) != (None, None):
                raise UsageError("revoke needs --grant-id, or both --entitlement and --principal")
            if catalog is None:
                raise NotFoundError(f"--grant-id: c1z file {file} not found to look the grant up in (-f)")
            task = tb.revoke_grant_id_task(grant_id, catalog)
            what = f"grant {grant_id}"
        else:
            task = tb.revoke_task(entitlement, principal, grant_id=grant_id, catalog=catalog)
            what = f"{entitlement} from {principal}"
    _execute(invocation, task, describe=lambda _b: f"revoked {what}")


def delete_resource(invocation: Invocation, resource: str, file: Path) -> None:
    from baton_cli.emulator import task_builders as tb

    with _catalog(file) as catalog:
        task = tb.delete_resource_task(resource, catalog=catalog)
    _execute(invocation, task, describe=lambda _b: f"deleted {resource}")


def create_account(
    invocation: Invocation,
    login: str,
    *,
    emails: list[str],
    resource_type: str,
    profile: str | None,
    age_recipients: list[str],
    reveal: bool,
) -> None:
    from baton_cli.emulator import task_builders as tb

    _check_reveal(reveal, invocation, age_recipients, "create-account")
    revealer = _Revealer(reveal)
    task = tb.create_account_task(
        login,
        emails=emails,
        resource_type_id=resource_type,
        profile_json=profile,
        password="random",
        age_recipients=revealer.recipients(age_recipients),
    )
    _execute(invocation, task, describe=_account, reveal=revealer.lines)


def rotate_credentials(
    invocation: Invocation, resource: str, *, age_recipients: list[str], reveal: bool
) -> None:
    from baton_cli.emulator import task_builders as tb

    _check_reveal(reveal, invocation, age_recipients, "rotate-credentials")
    revealer = _Revealer(reveal)
    task = tb.rotate_credentials_task(resource, age_recipients=revealer.recipients(age_recipients))
    _execute(
        invocation,
        task,
        describe=lambda b: f"rotated credentials of {resource}" + _delivery(b, reveal),
        reveal=revealer.lines,
    )


# -- the subcommands -------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    @app.command("grant", context_settings=EXTRA)
    def grant_command(
        ctx: typer.Context,
        entitlement: Annotated[
            str, typer.Option("--entitlement", "-e", metavar="ID", help="Entitlement id TYPE:ID:SLUG.")
        ],
        principal: Annotated[str, typer.Option("--principal", metavar="TYPE:ID", help="Principal TYPE:ID.")],
        plugin: opt.Plugin,
        file: opt.ProvisionFile = opt.DEFAULT_FILE,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
    ) -> None:
        """Grant an entitlement to a principal through the plugin."""
        grant(
            Invocation.of(ctx, plugin, config, output, (log_level, log_format)), entitlement, principal, file
        )

    @app.command("revoke", context_settings=EXTRA)
    def revoke_command(
        ctx: typer.Context,
        plugin: opt.Plugin,
        grant_id: Annotated[
            str | None,
            typer.Option("--grant-id", metavar="ID", help="The grant to revoke, looked up in the c1z file."),
        ] = None,
        entitlement: Annotated[
            str | None, typer.Option("--entitlement", "-e", metavar="ID", help="Entitlement id TYPE:ID:SLUG.")
        ] = None,
        principal: Annotated[
            str | None, typer.Option("--principal", metavar="TYPE:ID", help="Principal TYPE:ID.")
        ] = None,
        file: opt.ProvisionFile = opt.DEFAULT_FILE,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
    ) -> None:
        """Revoke a grant through the plugin: --grant-id, or --entitlement with --principal."""
        invocation = Invocation.of(ctx, plugin, config, output, (log_level, log_format))
        revoke(invocation, file, grant_id=grant_id, entitlement=entitlement, principal=principal)

    @app.command("delete-resource", context_settings=EXTRA)
    def delete_resource_command(
        ctx: typer.Context,
        resource: Annotated[
            str, typer.Option("--resource", "-r", metavar="TYPE:ID", help="Resource TYPE:ID.")
        ],
        plugin: opt.Plugin,
        file: opt.ProvisionFile = opt.DEFAULT_FILE,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
    ) -> None:
        """Delete a resource through the plugin."""
        delete_resource(Invocation.of(ctx, plugin, config, output, (log_level, log_format)), resource, file)

    @app.command("create-account", context_settings=EXTRA)
    def create_account_command(
        ctx: typer.Context,
        login: Annotated[str, typer.Option("--login", metavar="LOGIN", help="Account login.")],
        plugin: opt.Plugin,
        email: Annotated[
            list[str] | None,
            typer.Option(
                "--email", metavar="ADDRESS", help="Email address (repeatable); the first is primary."
            ),
        ] = None,
        resource_type: Annotated[
            str, typer.Option("--resource-type", "-t", metavar="TYPE", help="Account resource type.")
        ] = "",
        profile: Annotated[
            str | None, typer.Option("--profile", metavar="JSON", help="Profile JSON object.")
        ] = None,
        age_recipient: Annotated[list[str] | None, AGE] = None,
        reveal: Annotated[bool, REVEAL] = False,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
    ) -> None:
        """Create an account through the plugin; its new password is shown only with --reveal."""
        create_account(
            Invocation.of(ctx, plugin, config, output, (log_level, log_format)),
            login,
            emails=email or [],
            resource_type=resource_type,
            profile=profile,
            age_recipients=age_recipient or [],
            reveal=reveal,
        )

    @app.command("rotate-credentials", context_settings=EXTRA)
    def rotate_credentials_command(
        ctx: typer.Context,
        resource: Annotated[
            str, typer.Option("--resource", "-r", metavar="TYPE:ID", help="Resource TYPE:ID.")
        ],
        plugin: opt.Plugin,
        age_recipient: Annotated[list[str] | None, AGE] = None,
        reveal: Annotated[bool, REVEAL] = False,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
    ) -> None:
        """Rotate a resource's credentials through the plugin; shown only with --reveal."""
        rotate_credentials(
            Invocation.of(ctx, plugin, config, output, (log_level, log_format)),
            resource,
            age_recipients=age_recipient or [],
            reveal=reveal,
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

"""Running one task through the daemon's own handlers for a one-shot command, and printing it.

The ticket, action, event, create-resource and issue-credential commands build
the task the platform would send, hand it to ``wiring.run_action`` and print
the connector's response: a short text for people, or ``-o json`` (the
response message as protobuf JSON, keys sorted) for scripts. A failed task
exits with its gRPC code, as every command does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.cli.options import OutputFormat
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, StatusCode, UsageError

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from baton_cli.core.task_source import Task

# The shared options (baton_cli/cli/options.py); `--json` is `-o json` on every command that has -o.
PluginOption = opt.Plugin
ConfigOption = opt.Config
OutputOption = opt.Output
# Plugin fields follow the command's own options, as for `baton sync`.
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def wants_json(output: OutputFormat) -> bool:
    return output == OutputFormat.json


def execute(ctx: typer.Context, plugin: str, config: Path | None, task: Task) -> Message | None:
    """The unpacked response of ``task``; a failure raises with the task's own code and message."""
    from baton_cli.core.task_source import Failure
    from baton_cli.emulator.result_summary import unpack
    from baton_cli.wiring import PluginRequest, run_action

    cancel = CancelToken()
    with cancel_on_sigint(cancel):
        outcome = run_action(
            PluginRequest(spec=plugin, args=list(ctx.args), config_file=config), task, cancel=cancel
        )
    if isinstance(outcome, Failure):
        code = (
            StatusCode(outcome.code)
            if 0 < outcome.code <= int(StatusCode.UNAUTHENTICATED)
            else StatusCode.UNKNOWN
        )
        raise BatonError(outcome.message.splitlines()[0] if outcome.message else "task failed", code=code)
    return unpack(outcome.response.SerializeToString()) if outcome.response is not None else None


def emit(message: Message | None, as_json: bool, describe: Callable[[Any], str]) -> None:
    if as_json:
        from google.protobuf.json_format import MessageToDict

        try:
            body = MessageToDict(message) if message is not None else {}
        except TypeError:
            # An annotation whose type this process has not imported yet (a connector child's own,
            # such as an ETag): render it by its type URL once every generated type is loaded.
            from baton_cli.cli.inspect_output import to_dict

            body = to_dict(message) if message is not None else {}
        typer.echo(json.dumps(body, indent=2, sort_keys=True))
    elif message is not None:
        typer.echo(describe(message))


def read_json_arg(text: str, flag: str) -> str:
    """A JSON value given inline or as ``@FILE``."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{flag}: cannot read {path}: {exc.strerror}") from None
    return text

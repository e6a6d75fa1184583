"""The ``baton`` console entry point: the one place errors become exit codes.

Commands are not registered here: add a row to ``COMMANDS`` in baton_cli/cli/commands.py (they
load lazily, so ``baton --help`` stays light), and shared options to baton_cli/cli/options.py.
The Typer app itself is in baton_cli/cli/root.py; ``app`` here is that app (looked up on first
use, so ``baton --version`` imports neither Typer nor Rich).
"""

from __future__ import annotations

# Only what `baton --version` needs is imported up front; the rest inside the functions.
import os
import sys
from typing import TYPE_CHECKING, Any

from baton_cli.errors import BatonError, StatusCode

if TYPE_CHECKING:
    from collections.abc import Sequence

    import typer


# The variable the completion scripts set (baton_cli.cli.completion_cmd uses the same name).
COMPLETE_VAR = "_BATON_COMPLETE"


def __getattr__(name: str) -> Any:
    if name == "app":
        from baton_cli.cli.root import app

        return app
    raise AttributeError(name)


# Typer turns a KeyboardInterrupt into exit code 130; we report cancellation as upstream does (1).
_TYPER_INTERRUPTED = 130
# 128 + SIGPIPE, the status a shell reports for a program stopped by a closed pipe.
_BROKEN_PIPE = 141


def debug_enabled() -> bool:
    """Tracebacks are for ``BATON_DEBUG=1`` or debug logging (``--log-level debug``)."""
    import logging

    if os.environ.get("BATON_DEBUG", "") not in ("", "0", "false"):
        return True
    if os.environ.get("BATON_LOG_LEVEL", "").lower() == "debug":
        return True
    # The logging pipeline sets the baton_cli logger's level from --log-level.
    return logging.getLogger("baton_cli").isEnabledFor(logging.DEBUG)


def _has_foreign_cause(exc: BaseException) -> bool:
    """True when a non-baton exception (a bug, not an expected failure) is in the cause chain."""
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if not isinstance(cause, BatonError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``-o json`` (errors are then JSON too)."""
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--json", "-ojson", "--output=json"):
            return True
        if arg in ("-o", "--output") and index + 1 < len(args) and args[index + 1] == "json":
            return True
    return False


class _Failer:
    """Writes the one error line (or, under ``-o json``, one JSON object) and exits."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, message: str, code: int) -> None:
        if self.as_json:
            import json

            status = StatusCode(code).name if code in StatusCode._value2member_map_ else "UNKNOWN"
            body = {"error": message, "code": int(code), "status": status}
            sys.stderr.write(json.dumps(body, sort_keys=True) + "\n")
        else:
            sys.stderr.write(f"baton: error: {message}\n")
        sys.stderr.flush()
        raise SystemExit(code)


def _application() -> typer.Typer:
    from baton_cli.cli import root

    found: typer.Typer | None = globals().get("app")  # a test may have put its own app in place
    return found if found is not None else root.app


def _config_defaults(args: list[str]) -> dict[str, Any] | None:
    """Runner options from the config file, for the command about to run (see config_file.py)."""
    from pathlib import Path

    from baton_cli.cli import config_file
    from baton_cli.cli.commands import load
    from baton_cli.config_document import read_config_document

    name = next((arg for arg in args if not arg.startswith("-")), None)
    command = load(name) if name is not None else None
    if command is None or "--help" in args or "-h" in args:
        return None
    path = config_file.config_path(args, os.environ, Path.cwd())
    if path is None:
        return None
    return config_file.default_map(name or "", command, read_config_document(path)) or None


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; exit codes follow gRPC status codes (cli.md §7)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    if args == ["--version"]:
        from baton_cli import __version__

        sys.stdout.write(f"baton {__version__}\n")
        raise SystemExit(0)
    import typer

    try:  # newer typer releases vendor click; their exceptions are not click's
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - older typer on real click
        from click import exceptions as click_exceptions  # type: ignore[no-redef]

    import traceback

    if os.environ.get(COMPLETE_VAR):
        # A shell asks for candidates (the scripts of `baton completion SHELL`). The app is built
        # with add_completion=False, so the shells' protocol classes are registered here, once.
        from baton_cli.cli import completion_shells

        completion_shells.register()
    _fail = _Failer(wants_json(args))
    command = typer.main.get_command(_application())
    try:
        # upstream's one-shot flags (--list-ticket-schemas, --invoke-action NAME, ...) as aliases.
        from baton_cli.cli.upstream_oneshot import translate

        args = translate(args) or args
        code = command.main(
            args=args, prog_name="baton", standalone_mode=False, default_map=_config_defaults(args)
        )
    except click_exceptions.NoArgsIsHelpError:
        raise SystemExit(int(StatusCode.INVALID_ARGUMENT)) from None  # help is already printed
    except click_exceptions.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        _fail(f"{exc.format_message()}{hint}", StatusCode.INVALID_ARGUMENT)
    except click_exceptions.ClickException as exc:
        _fail(exc.format_message(), StatusCode.INVALID_ARGUMENT)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", StatusCode.CANCELLED)
    except BatonError as exc:
        if debug_enabled() and _has_foreign_cause(exc):
            # A connector's own bug (KeyError, ...) wrapped by the runner: show where it happened.
            traceback.print_exception(exc)
        _fail(str(exc), int(exc.code))
    except SystemExit as exc:
        # Typer answers a closed stdout (`baton grants | head`) with exit 1 after wrapping
        # stdout; report it like a Go tool killed by SIGPIPE would, not as a cancellation.
        if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            raise SystemExit(_BROKEN_PIPE) from None
        raise
    except BrokenPipeError:
        # `baton ... | head` closed the pipe: not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(_BROKEN_PIPE) from None
    except Exception as exc:
        if debug_enabled():
            traceback.print_exc()
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (set BATON_DEBUG=1 for a traceback)",
            StatusCode.UNKNOWN,
        )
    if code == _TYPER_INTERRUPTED:
        _fail("interrupted", StatusCode.CANCELLED)
    raise SystemExit(code if isinstance(code, int) else 0)

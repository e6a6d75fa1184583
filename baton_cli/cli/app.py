"""The ``baton`` command: Typer app plus the one place errors become exit codes.

Commands are not registered here: add a row to ``COMMANDS`` in baton_cli/cli/commands.py (they
load lazily, so ``baton --help`` stays light), and shared options to baton_cli/cli/options.py.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence

import typer

try:  # newer typer releases vendor click; their exceptions are not click's
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer on real click
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from baton_cli import __version__
from baton_cli.cli.commands import LazyGroup
from baton_cli.errors import BatonError, StatusCode

# Help follows the terminal up to this width; click keeps a 50-column floor when piped.
HELP_MAX_WIDTH = 120

app = typer.Typer(
    name="baton",
    cls=LazyGroup,
    help="Run ConductorOne baton connectors: sync to a c1z file, provision, or serve the platform.",
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
    """Run ConductorOne baton connectors: sync to a c1z file, provision, or serve the platform."""


# Typer turns a KeyboardInterrupt into exit code 130; we report cancellation as upstream does (1).
_TYPER_INTERRUPTED = 130
# 128 + SIGPIPE, the status a shell reports for a program stopped by a closed pipe.
_BROKEN_PIPE = 141


def debug_enabled() -> bool:
    """Tracebacks are for ``BATON_DEBUG=1`` or debug logging (``--log-level debug``)."""
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


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"baton: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; exit codes follow gRPC status codes (cli.md §7)."""
    command = typer.main.get_command(app)
    try:
        args = list(argv) if argv is not None else sys.argv[1:]
        # upstream's one-shot flags (--list-ticket-schemas, --invoke-action NAME, ...) as aliases.
        from baton_cli.cli.upstream_oneshot import translate

        code = command.main(args=translate(args) or args, prog_name="baton", standalone_mode=False)
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

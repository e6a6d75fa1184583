"""``baton ARGS`` in this process, through the console entry point, for tests about a command's output.

``baton_cli.cli.app.main`` is what the ``baton`` script calls: the same argument parsing, config
file lookup and error-to-exit-code mapping. Running it here instead of in a child saves the
interpreter start-up and imports of every call (about half a second each), which is most of what
a command-output test costs. What only a real process shows (signals, the exit status a shell
sees, stdout and stderr as separate pipes of one process, pid files, terminal detection) stays
with ``tests.cli.process.baton``.

Each call runs as a child would: in ``cwd``, with the environment ``tests.cli.process.baton_env``
gives a child plus ``env``, with stdin, stdout and stderr of its own (not terminals), and with
whatever it changes in process-wide state put back afterwards: the environment, the working
directory, the standard streams, the logging configuration, the signal handlers, ``sys.path``
(the plugin loader adds a connector's directory) and the modules imported from directories added
to it (a connector file another test writes under the same name is then imported afresh). Tests
stay independent of each other under xdist and in any order.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from baton_cli.cli.app import main
from tests.cli.process import baton_env

# What the commands may replace: SIGPIPE is left alone (Python ignores it; a child does too).
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class Invocation:
    """The parts of a ``subprocess.CompletedProcess`` the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class _Stream(io.TextIOWrapper):
    """A text stream with a ``buffer`` (some writers use bytes) that is not a terminal."""

    def __init__(self, initial: str = "") -> None:
        super().__init__(io.BytesIO(initial.encode()), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        buffer = self.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class _LoggerState:
    level: int
    handlers: tuple[logging.Handler, ...]
    propagate: bool
    disabled: bool


def _logger_states() -> dict[str, _LoggerState]:
    loggers = {"": logging.getLogger()}
    loggers.update(
        (name, found)
        for name, found in logging.Logger.manager.loggerDict.items()
        if isinstance(found, logging.Logger)
    )
    return {
        name: _LoggerState(found.level, tuple(found.handlers), found.propagate, found.disabled)
        for name, found in loggers.items()
    }


def _restore_loggers(saved: dict[str, _LoggerState]) -> None:
    for name, found in [("", logging.getLogger()), *logging.Logger.manager.loggerDict.items()]:
        if not isinstance(found, logging.Logger):
            continue
        state = saved.get(name, _LoggerState(logging.NOTSET, (), True, False))
        for handler in [h for h in found.handlers if h not in state.handlers]:
            found.removeHandler(handler)
        for handler in state.handlers:
            if handler not in found.handlers:
                found.addHandler(handler)
        found.setLevel(state.level)
        found.propagate = state.propagate
        found.disabled = state.disabled
    logging.disable(logging.NOTSET)


def _forget_modules_from(directories: list[str], known: set[str]) -> None:
    roots = [Path(d).resolve() for d in directories]
    for name in set(sys.modules) - known:
        file = getattr(sys.modules[name], "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(root) for root in roots):
            del sys.modules[name]


@contextmanager
def _isolated(cwd: Path, env: dict[str, str], pythonpath: tuple[Path, ...]) -> Iterator[None]:
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_loggers = _logger_states()
    saved_signals = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:0] = [str(p) for p in pythonpath]  # as PYTHONPATH puts them first in a child
    try:
        yield
    finally:
        added = [entry for entry in sys.path if entry not in saved_path]
        sys.path[:] = saved_path
        _forget_modules_from(added, saved_modules)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        _restore_loggers(saved_loggers)
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)


def baton_here(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str = "",
    pythonpath: tuple[Path, ...] = (),
) -> Invocation:
    """Run ``baton ARGS`` in this process as ``tests.cli.process.baton`` runs it in a child."""
    out, err = _Stream(), _Stream()
    with _isolated(cwd, baton_env(env, pythonpath=pythonpath), pythonpath):
        sys.stdin, sys.stdout, sys.stderr = _Stream(stdin), out, err
        try:
            main(list(args))
        except SystemExit as stop:
            code = stop.code
        else:  # pragma: no cover - main() always ends in SystemExit
            code = 0
        if isinstance(code, str):  # what the interpreter does with sys.exit("message")
            err.write(code + "\n")
            code = 1
        returncode = 0 if code is None else code
    return Invocation(list(args), returncode, out.text(), err.text())

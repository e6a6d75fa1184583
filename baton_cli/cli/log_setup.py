"""The logging pipeline of `run`, `sync`, the provisioning commands and `emulator serve`.

One handler on the root logger writes every record (ours, a connector's through
``baton_cli.connector.logger(name)``, the libraries') to stderr, so there is one stream to
ship. ``--log-level`` (``BATON_LOG_LEVEL``: debug, info, warn, error) sets the root level;
``--log-format`` (``BATON_LOG_FORMAT``) picks ``console`` (default on a terminal) or ``json``
(default otherwise, as upstream). Every line carries an RFC 3339 UTC timestamp with
milliseconds, the level and the message; JSON lines are one object each, with ``ts``,
``level``, ``logger``, ``msg`` and the record's fields (``task_id``, ``task_kind``, ...) as keys.

Secrets: the OAuth libraries' DEBUG output is fenced in transport/token_source.py; nothing
here adds request bodies or tokens.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Any

from baton_cli.errors import UsageError
from baton_cli.transport.log_fence import fence_oauth_logging

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error"}
STDOUT_LOGGER = "baton_cli.connector.stdout"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogFormat(StrEnum):
    console = "console"
    json = "json"


def rfc3339(created: float) -> str:
    """``2026-12-01T21:44:34.123Z``: UTC, millisecond precision."""
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def level_name(levelno: int) -> str:
    return _LEVEL_NAMES.get(levelno, logging.getLevelName(levelno).lower())


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": rfc3339(record.created),
            "level": level_name(record.levelno),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info and record.levelno >= logging.ERROR:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        shown = " ".join(
            f"{key}={value}" for key, value in fields.items() if key not in ("task_id", "task_kind")
        )
        text = f"{rfc3339(record.created)} {level_name(record.levelno).upper():<5} {record.getMessage()}"
        if shown:
            text += f"  {shown}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def parse_level(text: str) -> int:
    try:
        return LEVELS[text.strip().lower()]
    except KeyError:
        raise UsageError(f"--log-level: expected one of debug, info, warn, error; got {text!r}") from None


def resolve_format(fmt: LogFormat | None, stream: IO[str]) -> LogFormat:
    """Upstream's default: console on a terminal, JSON otherwise."""
    if fmt is not None:
        return fmt
    return LogFormat.console if stream.isatty() else LogFormat.json


class _PipelineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we installed, so a second configuration replaces it."""


def configure_logging(level: str, fmt: str | None, *, stream: IO[str] | None = None) -> LogFormat:
    """Install the pipeline's one handler on the root logger; returns the format chosen.

    ``fmt`` is ``--log-format`` as given (``console`` or ``json``; None: the stream's default)."""
    target = stream or sys.stderr
    chosen = resolve_format(LogFormat(fmt) if fmt else None, target)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _PipelineHandler)]:
        root.removeHandler(handler)
    handler = _PipelineHandler(target)
    handler.setFormatter(JsonFormatter() if chosen is LogFormat.json else ConsoleFormatter())
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    fence_oauth_logging()
    return chosen


class StdoutAsLog(io.TextIOBase):
    """Stands in for stdout in the daemon: a connector's stray ``print`` becomes a log record
    (one per line, logger ``baton_cli.connector.stdout``) instead of text between JSON lines."""

    def __init__(self) -> None:
        self._pending = ""
        self._log = logging.getLogger(STDOUT_LOGGER)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self._log.info("stdout: %s", line)
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self._log.info("stdout: %s", self._pending)
        self._pending = ""

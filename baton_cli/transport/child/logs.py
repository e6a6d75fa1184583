"""The child's JSON log lines (zap, on stdout and stderr) re-emitted through our logging.

Each line keeps its level; its other fields follow the message as ``key=value``. Lines that are
not JSON (a Go panic, cobra's usage errors) are passed on at warning level. The newest error is
remembered: when the child dies, that line is what the user needs to read.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import IO

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "dpanic": logging.CRITICAL,
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
# zap's bookkeeping fields, not worth repeating in our own log lines.
_SKIPPED = frozenset({"level", "ts", "msg", "caller", "logger", "stacktrace"})
_MAX_LINE = 4000


class LogRelay:
    """Reads one stream of the child until EOF on a daemon thread."""

    def __init__(self, stream: IO[bytes], logger: logging.Logger) -> None:
        self._stream = stream
        self._logger = logger
        self._lock = threading.Lock()
        self._last_error = ""
        self._last_line = ""
        self._thread = threading.Thread(target=self._run, name=f"{logger.name}-log", daemon=True)
        self._thread.start()

    @property
    def last_error(self) -> str:
        """The newest error-level (or non-JSON) line, else the newest line of any level."""
        with self._lock:
            return self._last_error or self._last_line

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()[:_MAX_LINE]
            if line:
                self._relay(line)
        self._stream.close()

    def _relay(self, line: str) -> None:
        level, text = parse_line(line)
        with self._lock:
            self._last_line = text
            if level >= logging.WARNING and (level >= logging.ERROR or not line.startswith("{")):
                self._last_error = text
        self._logger.log(level, "%s", text)


def parse_line(line: str) -> tuple[int, str]:
    """(logging level, message with its fields) of one child line."""
    try:
        record = json.loads(line)
    except ValueError:
        return logging.WARNING, line
    if not isinstance(record, dict):
        return logging.WARNING, line
    level = _LEVELS.get(str(record.get("level", "info")).lower(), logging.INFO)
    fields = " ".join(f"{k}={_text(v)}" for k, v in record.items() if k not in _SKIPPED)
    message = str(record.get("msg", ""))
    return level, f"{message} {fields}".strip()


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

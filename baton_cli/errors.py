"""One exception tree for baton_cli, named by what the runtime should do.

::

    BatonError                      base; carries a gRPC status code (exit code)
    ├── UsageError                  bad flag / value / config field      (3 INVALID_ARGUMENT)
    ├── NotFoundError               missing file, plugin, resource       (5 NOT_FOUND)
    ├── C1ZError                    unreadable or unsupported c1z file    (3 INVALID_ARGUMENT)
    │   └── C1ZUnsupportedFormat    a v3 (Pebble) file                    (12 UNIMPLEMENTED)
    ├── ConnectorError              the connector failed a call           (13 INTERNAL by default)
    │   ├── RetryableConnectorError may succeed if tried again            (14 UNAVAILABLE)
    │   ├── InvalidArgumentError    the request or a setting is wrong     (3 INVALID_ARGUMENT)
    │   ├── PermissionDeniedError   the credentials may not do this       (7 PERMISSION_DENIED)
    │   ├── UnauthenticatedError    the credentials were refused          (16 UNAUTHENTICATED)
    │   ├── AlreadyExistsError      the object to create is already there (6 ALREADY_EXISTS)
    │   └── UnimplementedError      the remote cannot do this             (12 UNIMPLEMENTED)
    ├── FailedPreconditionError     state does not allow the action       (9 FAILED_PRECONDITION)
    ├── ResourceExhaustedError      out of disk space (or another quota)  (8 RESOURCE_EXHAUSTED)
    └── CancelledError              Ctrl-C or server cancellation         (1 CANCELLED)

The CLI prints ``str(error)`` as one line and exits with ``error.code``;
the daemon turns the same code into a ``google.rpc.Status`` for FinishTask.
Messages must never contain secrets.
"""

from __future__ import annotations

from enum import IntEnum


class StatusCode(IntEnum):
    """gRPC status codes; also our process exit codes (as upstream's, cli.md §7)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# Not an error: `baton diff --exit-code` found differences. Outside the gRPC range (0..16), so a
# script never mistakes it for 1 (cancelled) or any other status.
EXIT_DIFFERENCES = 20


class BatonError(Exception):
    """Base of every expected failure; ``code`` is the exit / gRPC status code."""

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str, *, code: StatusCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(BatonError):
    code = StatusCode.INVALID_ARGUMENT


class NotFoundError(BatonError):
    code = StatusCode.NOT_FOUND


class C1ZError(BatonError):
    code = StatusCode.INVALID_ARGUMENT


class C1ZUnsupportedFormat(C1ZError):
    code = StatusCode.UNIMPLEMENTED


class ConnectorError(BatonError):
    code = StatusCode.INTERNAL


class RetryableConnectorError(ConnectorError):
    """A connector call that may succeed later: rate limited, or the remote was unavailable.

    ``reset_at`` (Unix seconds) and ``remaining`` mirror upstream's RateLimitDescription: when
    the remote said when its quota resets, the sync waits for that instead of a plain backoff.
    """

    code = StatusCode.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        code: StatusCode | None = None,
        reset_at: float | None = None,
        remaining: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.reset_at = reset_at
        self.remaining = remaining


class InvalidArgumentError(ConnectorError):
    """Not retried: the request or a setting must change first."""

    code = StatusCode.INVALID_ARGUMENT


class PermissionDeniedError(ConnectorError):
    """Not retried: the connector's credentials lack a permission."""

    code = StatusCode.PERMISSION_DENIED


class UnauthenticatedError(ConnectorError):
    """Not retried: the remote refused the connector's credentials."""

    code = StatusCode.UNAUTHENTICATED


class AlreadyExistsError(ConnectorError):
    """Not retried: what a create or grant asked for is already there."""

    code = StatusCode.ALREADY_EXISTS


class UnimplementedError(ConnectorError):
    """Not retried: a targeted sync skips such resources silently, as upstream does."""

    code = StatusCode.UNIMPLEMENTED


class FailedPreconditionError(BatonError):
    code = StatusCode.FAILED_PRECONDITION


class ResourceExhaustedError(BatonError):
    """Out of disk space or another quota: retrying elsewhere, or after freeing space, may work."""

    code = StatusCode.RESOURCE_EXHAUSTED


class CancelledError(BatonError):
    code = StatusCode.CANCELLED

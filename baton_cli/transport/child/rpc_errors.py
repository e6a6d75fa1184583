"""A child's gRPC errors as ours, codes kept (runner.md §7.8 decides what is retried).

UNAVAILABLE and DEADLINE_EXCEEDED become RetryableConnectorError, carrying the reset time of a
``RateLimitDescription`` in the status details when the connector sent one; every other code is
a ConnectorError with that code (INVALID_ARGUMENT stays 3, NOT_FOUND stays a skippable 5).
"""

from __future__ import annotations

from typing import Any

from google.rpc import status_pb2

from baton_cli.errors import BatonError, ConnectorError, RetryableConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import annotation_ratelimit_pb2

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_MAX_DETAILS = 500
RETRYABLE = frozenset({StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED})


def status_code(exc: Any) -> StatusCode:
    try:
        return StatusCode(int(exc.code().value[0]))
    except (AttributeError, TypeError, ValueError, IndexError):
        return StatusCode.UNKNOWN


def connector_error(exc: Any, where: str) -> BatonError:
    code = status_code(exc)
    try:
        details = " ".join(str(exc.details() or "").split())[:_MAX_DETAILS]
    except AttributeError:
        details = ""
    message = f"connector {where} failed: {code.name}" + (f": {details}" if details else "")
    if code in RETRYABLE:
        reset_at, remaining = _rate_limit(exc)
        return RetryableConnectorError(message, code=code, reset_at=reset_at, remaining=remaining)
    return ConnectorError(message, code=code)


def _rate_limit(exc: Any) -> tuple[float | None, int | None]:
    try:
        trailers = exc.trailing_metadata() or ()
    except AttributeError:
        return None, None
    for key, value in trailers:
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # a garbled detail must not hide the real error
            return None, None
        for detail in status.details:
            limit = annotation_ratelimit_pb2.RateLimitDescription()
            if detail.Unpack(limit) and limit.HasField("reset_at"):
                return limit.reset_at.ToNanoseconds() / 1e9, int(limit.remaining)
    return None, None

"""``grpc.RpcError`` -> ``BatonError``: the only place grpc exceptions are turned into ours.

Everything outside ``baton_cli.transport`` sees a ``PlatformError`` (a ``BatonError``) whose
``code`` is the gRPC status of the failed call, so the runner can classify it (runner.md §2,
§3.2) without importing grpc.
"""

from __future__ import annotations

from typing import Any

from google.rpc import error_details_pb2, status_pb2

from baton_cli.errors import BatonError, StatusCode

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_MAX_DETAILS = 500  # server text can be long (TLS failures); one line is enough for a log


class PlatformError(BatonError):
    """A BatonService call failed; ``retry_after`` is the server's RetryInfo delay, if it sent one."""

    def __init__(
        self, message: str, *, code: StatusCode, method: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.method = method
        self.retry_after = retry_after


def _status_code(exc: Any) -> StatusCode:
    try:
        value = exc.code().value[0]  # grpc.StatusCode members are (int, name) tuples
        return StatusCode(int(value))
    except (AttributeError, TypeError, ValueError, IndexError):
        return StatusCode.UNKNOWN


def _retry_after(exc: Any) -> float | None:
    try:
        trailers = exc.trailing_metadata() or ()
    except AttributeError:
        return None
    for key, value in trailers:
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # a garbled detail must not hide the real error
            return None
        for detail in status.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                return float(info.retry_delay.ToNanoseconds()) / 1e9
    return None


_TLS_WORDS = ("certificate", "ssl", "tls", "handshake")
_UNREACHABLE_WORDS = ("refused", "unreachable", "name or service not known", "failed to connect", "timed out")


def connection_hint(text: str) -> str:
    """A plain-words cause for a TLS or reachability failure ("" for anything else)."""
    lowered = text.lower()
    if any(word in lowered for word in _TLS_WORDS):
        return (
            " (TLS verification failed: the platform's certificate is not trusted; give its CA "
            "with --ca-file or SSL_CERT_FILE)"
        )
    if any(word in lowered for word in _UNREACHABLE_WORDS):
        return (
            " (the platform cannot be reached: check the host in the client id or BATON_C1_API_HOST; "
            "a private CA goes in --ca-file or SSL_CERT_FILE)"
        )
    return ""


def from_rpc_error(exc: Any, method: str) -> PlatformError:
    """Use as ``raise from_rpc_error(exc, "GetTask") from exc``.

    Only the status code and the server's details text are kept: grpc's debug string is left
    out, and neither carries request metadata, so the bearer token cannot leak through here.
    """
    code = _status_code(exc)
    try:
        details = exc.details() or ""
    except AttributeError:
        details = ""
    details = " ".join(str(details).split())[:_MAX_DETAILS]
    message = f"platform {method} failed: {code.name}" + (f": {details}" if details else "")
    if code is StatusCode.UNAVAILABLE:
        message += connection_hint(details)
    return PlatformError(message, code=code, method=method, retry_after=_retry_after(exc))

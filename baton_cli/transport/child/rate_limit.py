"""The child's own rate limiter (``c1.ratelimit.v1``), asked before each connector call.

A Go SDK child builds a limiter from the ``RateLimiterConfig`` in its ServerConfig (absent: a
no-op) and serves it as ``RateLimiterService`` beside the connector services; it never calls
back for it (the SDK's external limiter is not implemented). Upstream's parent asks ``Do``
before each connector call and ``Report``s after it, and waits while ``Do`` answers OVERLIMIT.
``RateLimitInterceptor`` does the same on our channel, only when a limit was configured
(``BATON_CONNECTOR_RATE_LIMIT``): without one the child's answer is always EMPTY.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import duration_pb2

from baton_cli.errors import UsageError
from baton_cli.pb.c1.ratelimit.v1 import ratelimit_pb2, ratelimit_pb2_grpc

RATE_LIMIT_ENV = "BATON_CONNECTOR_RATE_LIMIT"
SERVICE = "connector"  # upstream's service key
METHOD_KEY = "connector_method"
RESOURCE_TYPE_KEY = "connector_resource_type"
MIN_WAIT_SECONDS = 1.0  # upstream's bounds on a wait after OVERLIMIT
MAX_WAIT_SECONDS = 65 * 60.0
_LIMITER_PREFIX = "/c1.ratelimit.v1.RateLimiterService/"
_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
Description = ratelimit_pb2.RateLimitDescription

logger = logging.getLogger(__name__)


def rate_limit_from_env(env: Mapping[str, str]) -> ratelimit_pb2.RateLimiterConfig | None:
    """``RATE/PERIOD`` (e.g. ``100/1s``, ``5000/1h``): the child's fixed-window limiter;
    ``off``: its limiter explicitly disabled; unset: no config (the child's no-op)."""
    text = env.get(RATE_LIMIT_ENV, "").strip()
    if not text:
        return None
    if text.lower() == "off":
        return ratelimit_pb2.RateLimiterConfig(disabled=ratelimit_pb2.DisabledLimiter())
    match = _FORM.match(text)
    if match is None or int(match[1]) < 1 or (match[2] and int(match[2]) < 1):
        raise UsageError(
            f"{RATE_LIMIT_ENV} must be RATE/PERIOD such as 100/1s or 5000/1h, or off; got {text!r}"
        )
    period = duration_pb2.Duration()
    period.FromNanoseconds(round(int(match[2] or 1) * _UNIT_SECONDS[match[3]] * 1e9))
    return ratelimit_pb2.RateLimiterConfig(
        fixed_mem=ratelimit_pb2.FixedMemoryLimiter(rate=int(match[1]), period=period)
    )


def descriptors(method: str, request: Any) -> ratelimit_pb2.RateLimitDescriptors:
    """The method, and the resource type the request is about (upstream's descriptors)."""
    entries = [ratelimit_pb2.RateLimitDescriptors.Entry(key=METHOD_KEY, value=method)]
    type_id = ""
    if _has(request, "resource"):
        type_id = request.resource.id.resource_type
    elif _has(request, "resource_type_id"):
        type_id = request.resource_type_id
    if type_id:
        entries.append(ratelimit_pb2.RateLimitDescriptors.Entry(key=RESOURCE_TYPE_KEY, value=type_id))
    return ratelimit_pb2.RateLimitDescriptors(entries=entries)


def _has(request: Any, field: str) -> bool:
    return field in request.DESCRIPTOR.fields_by_name


class LimiterError(grpc.RpcError):  # type: ignore[misc]
    """A call the limiter never let through: over upstream's wait bound, or cancelled waiting."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def __str__(self) -> str:
        return self._details


class RateLimitInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Do before each unary connector call, waiting out OVERLIMIT; Report after it."""

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        wait: Callable[[float], bool] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._limiter = ratelimit_pb2_grpc.RateLimiterServiceStub(channel)
        # wait(seconds) -> True when we must stop waiting (cancelled); a real sleep by default.
        self._wait = wait or _sleep
        self._now = now
        self.calls = 0
        self.served = True
        self._lock = threading.Lock()

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.method.startswith(_LIMITER_PREFIX):
            return continuation(details, request)
        wanted = descriptors(details.method, request)
        token = self._admit(wanted, details.timeout)
        with self._lock:
            self.calls += 1
        outcome = continuation(details, request)
        if self.served:
            outcome.add_done_callback(lambda done: self._report(token, wanted, done))
        return outcome

    def _admit(self, wanted: ratelimit_pb2.RateLimitDescriptors, timeout: float | None) -> str:
        started = self._now()
        token = ""
        while True:
            if not self.served:
                return token
            try:
                answer = self._limiter.Do(
                    ratelimit_pb2.DoRequest(request_token=token, service=SERVICE, descriptors=wanted),
                    timeout=timeout,
                )
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                # A child older than the limiter service: nothing to ask, as with no config.
                logger.info("rate limiter: the connector serves no RateLimiterService; not limiting")
                self.served = False
                return token
            token = str(answer.request_token)
            status = answer.description.status
            if status != Description.STATUS_OVERLIMIT:
                if status not in (Description.STATUS_OK, Description.STATUS_EMPTY):
                    logger.warning("rate limiter: unspecified status %s; calling anyway", status)
                return token
            pause = self._pause(started, answer.description.reset_at.ToDatetime(tzinfo=UTC))
            if pause is None:
                raise LimiterError(grpc.StatusCode.RESOURCE_EXHAUSTED, "overlimit")
            logger.info("rate limiter: over the limit, waiting %.1fs", pause)
            if self._wait(pause):
                raise LimiterError(grpc.StatusCode.CANCELLED, "cancelled while waiting for the rate limiter")

    def _pause(self, started: datetime, reset_at: datetime) -> float | None:
        """Seconds to wait until ``reset_at``, clamped like upstream; None past its bound."""
        now = self._now()
        budget_end = started.timestamp() + MAX_WAIT_SECONDS
        if now.timestamp() > budget_end:
            return None
        pause = min(max((reset_at - now).total_seconds(), MIN_WAIT_SECONDS), MAX_WAIT_SECONDS)
        if now.timestamp() + pause > budget_end:
            return None
        return pause

    def _report(self, token: str, wanted: ratelimit_pb2.RateLimitDescriptors, done: Any) -> None:
        failed = done.cancelled() or done.exception() is not None
        status = Description.STATUS_ERROR if failed else Description.STATUS_OK
        request = ratelimit_pb2.ReportRequest(
            request_token=token, description=Description(status=status), service=SERVICE, descriptors=wanted
        )
        # From a completion callback: never block here.
        self._limiter.Report.future(request).add_done_callback(_log_report_failure)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _log_report_failure(done: Any) -> None:
    if not done.cancelled() and done.exception() is not None:
        logger.debug("rate limiter: report failed: %s", done.exception())

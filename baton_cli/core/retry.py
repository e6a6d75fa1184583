"""Retrying connector calls inside a sync (runner.md §7.8).

Only "try again" errors are retried (UNAVAILABLE, DEADLINE_EXCEEDED), without
an attempt limit, waiting attempts x base seconds capped at 60 s; the attempt
counter is shared by the whole sync and reset by any success. A rate-limited
error that says when its quota resets is waited out instead: until the reset
when nothing remains, else the reset spread over the remaining calls (still
capped at 60 s). Waits go through the cancel token, so Ctrl-C interrupts a
backoff at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, CancelledError, RetryableConnectorError, StatusCode

T = TypeVar("T")

RETRYABLE = frozenset({StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED})
MAX_WAIT_SECONDS = 60.0


class RetryPolicy:
    def __init__(
        self,
        cancel: CancelToken,
        *,
        base_seconds: float = 1.0,
        on_retry: Callable[[BatonError, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._cancel = cancel
        self._base = base_seconds
        self._on_retry = on_retry
        self.attempts = 0

    def delay(self, error: BatonError | None = None) -> float:
        if isinstance(error, RetryableConnectorError) and error.reset_at is not None:
            until_reset = error.reset_at - self._clock()
            if until_reset > 0:
                remaining = error.remaining if error.remaining is not None else 0
                wait = until_reset if remaining <= 0 else math.ceil(until_reset / remaining)
                return float(min(wait, MAX_WAIT_SECONDS))
        return min(self.attempts * self._base, MAX_WAIT_SECONDS)

    def call(self, fn: Callable[[], T]) -> T:
        while True:
            try:
                result = fn()
            except BatonError as exc:
                if exc.code not in RETRYABLE:
                    raise
                self.attempts += 1
                wait = self.delay(exc)
                if self._on_retry is not None:
                    self._on_retry(exc, wait)
                if self._cancel.wait(wait):
                    raise CancelledError(f"cancelled while waiting to retry: {self._cancel.reason}") from exc
                continue
            self.attempts = 0
            return result

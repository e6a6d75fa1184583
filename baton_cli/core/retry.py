"""Retrying connector calls inside a sync (runner.md §7.8).

Only "try again" errors are retried (UNAVAILABLE, DEADLINE_EXCEEDED), without
an attempt limit, waiting attempts x base seconds capped at 60 s; the attempt
counter is shared by the whole sync and reset by any success. A rate-limited
error that says when its quota resets is waited out instead: until the reset
when nothing remains, else the reset spread over the remaining calls (still
capped at 60 s). Waits go through the cancel token, so Ctrl-C interrupts a
backoff at once.

One policy serves every worker of a parallel sync: the attempt counter is
shared, and while one caller waits out a failure every other caller holds off
until the same moment (a rate limit is the API's, not one worker's).
"""

from __future__ import annotations

import math
import threading
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
        self._lock = threading.Lock()
        # Clock time before which no call may start: the end of the latest failure's wait.
        self._resume_at = 0.0

    def delay(self, error: BatonError | None = None) -> float:
        if isinstance(error, RetryableConnectorError) and error.reset_at is not None:
            until_reset = error.reset_at - self._clock()
            if until_reset > 0:
                remaining = error.remaining if error.remaining is not None else 0
                wait = until_reset if remaining <= 0 else math.ceil(until_reset / remaining)
                return float(min(wait, MAX_WAIT_SECONDS))
        return min(self.attempts * self._base, MAX_WAIT_SECONDS)

    def call(self, fn: Callable[[], T]) -> T:
        self._hold_off()
        own_pause = None
        while True:
            try:
                result = fn()
            except BatonError as exc:
                if exc.code not in RETRYABLE:
                    raise
                with self._lock:
                    self.attempts += 1
                    wait = self.delay(exc)
                    own_pause = self._clock() + wait
                    self._resume_at = max(self._resume_at, own_pause)
                if self._on_retry is not None:
                    self._on_retry(exc, wait)
                if self._cancel.wait(wait):
                    raise CancelledError(f"cancelled while waiting to retry: {self._cancel.reason}") from exc
                continue
            if own_pause is not None or self.attempts:
                with self._lock:
                    self.attempts = 0
                    if own_pause is not None and self._resume_at == own_pause:
                        self._resume_at = 0.0  # this caller's wait is over: nobody holds off for it
            return result

    def _hold_off(self) -> None:
        """Wait while another caller is backing off (parallel listing shares one backoff)."""
        if not self._resume_at:
            return  # nobody is backing off (read without the lock: a float is read whole)
        with self._lock:
            remaining = self._resume_at - self._clock()
        if remaining > 0 and self._cancel.wait(remaining):
            raise CancelledError(f"cancelled while waiting to retry: {self._cancel.reason}")

"""Retrying connector calls inside a sync (runner.md §7.8).

Only "try again" errors are retried (UNAVAILABLE, DEADLINE_EXCEEDED), without
an attempt limit, waiting attempts x base seconds capped at 60 s; the attempt
counter is shared by the whole sync and reset by any success. Waits go through
the cancel token, so Ctrl-C interrupts a backoff at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from baton_cli.core.cancel import CancelToken
from baton_cli.errors import BatonError, CancelledError, StatusCode

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
    ) -> None:
        self._cancel = cancel
        self._base = base_seconds
        self._on_retry = on_retry
        self.attempts = 0

    def delay(self) -> float:
        return min(self.attempts * self._base, MAX_WAIT_SECONDS)

    def call(self, fn: Callable[[], T]) -> T:
        while True:
            try:
                result = fn()
            except BatonError as exc:
                if exc.code not in RETRYABLE:
                    raise
                self.attempts += 1
                wait = self.delay()
                if self._on_retry is not None:
                    self._on_retry(exc, wait)
                if self._cancel.wait(wait):
                    raise CancelledError(f"cancelled while waiting to retry: {self._cancel.reason}") from exc
                continue
            self.attempts = 0
            return result

from __future__ import annotations

import pytest

from baton_cli.core.cancel import CancelToken
from baton_cli.core.retry import MAX_WAIT_SECONDS, RetryPolicy
from baton_cli.errors import CancelledError, ConnectorError, RetryableConnectorError


class RecordingToken(CancelToken):
    """Records waits instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return self.cancelled


def failing(errors: list[Exception]) -> object:
    def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    return call


def test_backoff_grows_per_attempt_and_resets_after_success() -> None:
    token = RecordingToken()
    policy = RetryPolicy(token)
    assert policy.call(failing([RetryableConnectorError("a"), RetryableConnectorError("b")])) == "ok"  # type: ignore[arg-type]
    assert token.waits == [1.0, 2.0]
    assert policy.call(failing([RetryableConnectorError("c")])) == "ok"  # type: ignore[arg-type]
    assert token.waits[-1] == 1.0  # the counter was reset by the success


def test_backoff_is_capped() -> None:
    token = RecordingToken()
    policy = RetryPolicy(token)
    policy.call(failing([RetryableConnectorError("x") for _ in range(70)]))  # type: ignore[arg-type]
    assert max(token.waits) == MAX_WAIT_SECONDS and len(token.waits) == 70


def test_rate_limit_reset_is_waited_out() -> None:
    token = RecordingToken()
    policy = RetryPolicy(token, clock=lambda: 1000.0)
    exhausted = RetryableConnectorError("429", reset_at=1012.0, remaining=0)
    spread = RetryableConnectorError("429", reset_at=1030.0, remaining=4)
    far = RetryableConnectorError("429", reset_at=5000.0, remaining=0)
    past = RetryableConnectorError("429", reset_at=900.0, remaining=0)
    policy.call(failing([exhausted, spread, far, past]))  # type: ignore[arg-type]
    assert token.waits == [12.0, 8.0, MAX_WAIT_SECONDS, 4.0]  # ceil(30/4)=8; a past reset falls back


def test_other_errors_are_not_retried_and_cancel_interrupts_a_wait() -> None:
    token = RecordingToken()
    with pytest.raises(ConnectorError, match="denied"):
        RetryPolicy(token).call(failing([ConnectorError("denied")]))  # type: ignore[arg-type]
    assert token.waits == []
    token.cancel("Ctrl-C")
    with pytest.raises(CancelledError, match="Ctrl-C"):
        RetryPolicy(token).call(failing([RetryableConnectorError("busy")]))  # type: ignore[arg-type]


class WorkerDuringWait(RecordingToken):
    """While the first caller waits out its failure, a second worker calls through the same policy."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: RetryPolicy | None = None
        self.events: list[str] = []

    def wait(self, timeout: float) -> bool:
        self.events.append(f"wait {timeout:g}")
        if self.policy is not None and len(self.events) == 1:
            self.policy.call(lambda: self.events.append("second worker calls"))
        return False


def test_a_callers_backoff_holds_off_every_other_caller() -> None:
    token = WorkerDuringWait()
    policy = RetryPolicy(token, clock=lambda: 1000.0)
    token.policy = policy
    errors = [RetryableConnectorError("429", reset_at=1012.0, remaining=0)]
    assert policy.call(failing(errors)) == "ok"  # type: ignore[arg-type]
    # The second worker held off until the reset before its call, instead of calling at once.
    assert token.events == ["wait 12", "wait 12", "second worker calls"]
    # Once the failing caller succeeded nobody holds off any more.
    token.events.clear()
    policy.call(lambda: token.events.append("later call"))
    assert token.events == ["later call"]

"""Stop signals as cooperative cancellation: the first SIGINT or SIGTERM cancels, the second stops now.

Process supervisors (systemd, Docker, Kubernetes) stop a program with SIGTERM and follow up
with SIGKILL; a person presses Ctrl-C. Both start the same graceful stop. The signal that
arrived is kept (``StopSignals.first``), so a command can pick its exit status from it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from baton_cli.cli.signal_relay import signal_relay
from baton_cli.core.cancel import CancelToken

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_REASONS = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "stop requested (SIGTERM)"}


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


@dataclass(slots=True)
class StopSignals:
    """What arrived: the first stop signal (None until one does) and how many."""

    first: signal.Signals | None = None
    count: int = 0


@contextmanager
def cancel_on_stop_signals(
    token: CancelToken, *, on_second: Callable[[], None] = _raise_interrupt
) -> Iterator[StopSignals]:
    """Cancel ``token`` on the first SIGINT/SIGTERM; call ``on_second`` on any later one.

    The default ``on_second`` raises KeyboardInterrupt in the main thread: stop at once.
    """
    seen = StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield seen  # signal handlers can only be installed from the main thread
        return

    with signal_relay() as relay:

        def handler(signum: int, frame: FrameType | None) -> None:
            seen.count += 1
            if seen.first is not None:
                if on_second is _raise_interrupt:
                    raise KeyboardInterrupt  # in the main thread, where it must stop the work
                relay.call_soon(on_second)
                return
            first = seen.first = signal.Signals(signum)
            # Not token.cancel() here: it sets an Event the interrupted code may be waiting on.
            relay.call_soon(lambda: token.cancel(_REASONS.get(first, first.name)))

        previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
        try:
            yield seen
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


@contextmanager
def cancel_on_sigint(token: CancelToken) -> Iterator[None]:
    """One-shot commands: SIGINT and SIGTERM both cancel; a second one interrupts."""
    with cancel_on_stop_signals(token):
        yield

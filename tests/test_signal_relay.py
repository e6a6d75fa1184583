"""A stop signal that lands inside ``Event.wait`` cannot deadlock the command it stops.

The handler runs in the thread it interrupted; when that thread is inside ``Event.wait`` it holds
the event's lock, and ``Event.set()`` from the handler would wait for that lock forever (seen as a
``baton emulator serve`` that ignored SIGTERM). Each test calls the installed handler while its
own thread holds the lock, exactly that moment, and then releases it. The bounds only turn the
old hang into a failure; a correct handler returns at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from baton_cli.cli.emulator_cmd import _stop_on_signals
from baton_cli.cli.interrupt import cancel_on_stop_signals
from baton_cli.core.cancel import CancelToken

BOUND = 60.0


def _signal_while_holding(event: threading.Event, handler: Callable[..., object]) -> bool:
    """Call ``handler`` with ``event``'s lock held by the calling thread; True if it returned."""
    returned = threading.Event()

    def inside_wait() -> None:
        with event._cond:  # type: ignore[attr-defined] # what Event.wait holds between its checks
            handler(signal.SIGTERM, None)
        returned.set()

    threading.Thread(target=inside_wait, daemon=True).start()
    return returned.wait(BOUND)


def test_sigterm_inside_a_cancel_token_wait_cancels_it() -> None:
    token = CancelToken()
    with cancel_on_stop_signals(token) as seen:
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        assert _signal_while_holding(token._event, handler), "the handler waited for its own lock"
        assert token.wait(BOUND)
    assert token.reason == "stop requested (SIGTERM)"
    assert (seen.first, seen.count) == (signal.SIGTERM, 1)


def test_a_second_signal_runs_the_callers_stop_now_off_the_handler() -> None:
    token, force = CancelToken(), CancelToken()
    with cancel_on_stop_signals(token, on_second=lambda: force.cancel("second stop signal")):
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        handler(signal.SIGTERM, None)
        assert token.wait(BOUND)
        assert _signal_while_holding(force._event, handler), "the second signal blocked in the handler"
        assert force.wait(BOUND)


def test_the_emulators_stop_signal_inside_stop_wait_stops_it() -> None:
    stop = threading.Event()
    with _stop_on_signals(stop):
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        assert _signal_while_holding(stop, handler), "the handler waited for its own lock"
        assert stop.wait(BOUND)

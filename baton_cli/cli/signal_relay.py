"""Work a signal handler asks for, done on a thread of its own.

A Python signal handler runs in the main thread between two bytecodes, which can be inside
``threading.Event.wait`` while that thread holds the event's (non-reentrant) lock: calling
``Event.set()`` there waits for the lock forever. That hung ``baton emulator serve`` on SIGTERM
now and then, and ``CancelToken.cancel`` in ``baton run``/``sync`` has the same shape. The
handler only puts the call on a ``queue.SimpleQueue``, whose ``put`` is documented as safe to call
from a signal handler; this thread makes it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Only for a call stuck on a lock the main thread will never release: exit anyway.
_JOIN_SECONDS = 10.0


class SignalRelay:
    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="baton-signal-relay", daemon=True)

    def call_soon(self, call: Callable[[], None]) -> None:
        """Safe inside a signal handler: ``call`` runs on the relay thread, in order."""
        self._calls.put(call)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            call()


@contextmanager
def signal_relay() -> Iterator[SignalRelay]:
    """A running relay for the block; calls already asked for are made before it ends."""
    relay = SignalRelay()
    relay._thread.start()
    try:
        yield relay
    finally:
        relay._calls.put(None)
        relay._thread.join(_JOIN_SECONDS)

"""A bounded log of what the emulator did, for the live view and the plain-lines output.

Entries never contain secrets or tokens: only client ids, host ids, task ids and outcomes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: float
    text: str


class EventLog:
    def __init__(self, *, capacity: int = 500, clock: Callable[[], float] = time.time) -> None:
        self._entries: deque[Event] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._clock = clock

    def add(self, text: str) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append(Event(self._seq, self._clock(), text))

    def since(self, seq: int) -> list[Event]:
        """Entries after ``seq``, oldest first (entries pushed out of the buffer are lost)."""
        with self._lock:
            return [e for e in self._entries if e.seq > seq]

    def last(self, n: int) -> list[Event]:
        with self._lock:
            return list(self._entries)[-n:]

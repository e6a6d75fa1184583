"""Listing many resources' pages at once for a parallel sync (runner.md §7.7, cli.md §3.2).

Real connectors spend a sync waiting on HTTP APIs, so the engine hands
several per-resource listings to a bounded pool of threads. Each worker
drives one listing through all its pages; the pages come back to the
engine's thread through a bounded queue, and only that thread writes the
c1z, keeps the action stack and talks to the observer. Memory stays bounded
by the queue, whatever the connector's speed.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from baton_cli.connector.api import Page

T = TypeVar("T")

# Upstream: -1 means min(CPUs, 4).
AUTO_WORKERS = -1
MAX_AUTO_WORKERS = 4
# Pages waiting for the writer, per worker, before workers block.
QUEUE_PAGES_PER_WORKER = 2
# Listings handed to the pool at once, per worker: enough that a worker finishing one
# finds the next already queued while the engine's thread stores pages.
LISTINGS_PER_WORKER = 2


def effective_workers(requested: int, cpus: int | None = None) -> int:
    """The worker count for ``--workers`` (cli.md §3.2): -1 auto, 0 and 1 sequential."""
    if requested == AUTO_WORKERS:
        return max(1, min(cpus if cpus is not None else (os.cpu_count() or 1), MAX_AUTO_WORKERS))
    if requested < AUTO_WORKERS:
        raise ValueError(f"--workers must be -1 (auto), 0 or a positive number, got {requested}")
    return max(1, requested)


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """One event of a listing: a page (asked for with ``token``), its failure, or its end."""

    job: int
    token: str
    page: Page[T] | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.page is None and self.error is None


# A listing: given a page token, one page (the connector call, with its retries).
PageCall = Callable[[str], Page[T]]


class PagePump:
    """A pool of ``workers`` threads running listings; one per sync, closed at its end."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="baton-sync-worker")

    def start(self) -> PumpRun[Any]:
        """A run to add listings to (``add``) and iterate for their events."""
        return PumpRun(self._pool, self.workers)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class PumpRun(Generic[T]):
    """The events of the listings added to it, in arrival order.

    A listing's pages arrive in order; after its last page (or its error) comes its
    ``done`` event. Iteration ends once every listing added so far is done (listings
    may be added while iterating). ``stop()`` starts no further connector call: the
    calls in flight still bring their pages, which the engine stores, so nothing
    fetched is thrown away. ``abandon()`` (after an error) stops and drops whatever
    is still coming.
    """

    def __init__(self, pool: ThreadPoolExecutor, workers: int) -> None:
        self._pool = pool
        size = max(1, workers * QUEUE_PAGES_PER_WORKER)
        self._events: queue.Queue[Fetched[T]] = queue.Queue(maxsize=size)
        self._stopping = threading.Event()
        self._futures: dict[int, Future[None]] = {}
        self._pending = 0

    @property
    def running(self) -> int:
        """Listings added and not done yet."""
        return self._pending

    def add(self, job: int, call: PageCall[T], token: str) -> None:
        self._pending += 1
        self._futures[job] = self._pool.submit(self._drive, job, call, token)

    def _drive(self, job: int, call: PageCall[T], token: str) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    page = call(token)
                except BaseException as exc:  # handed to the engine's thread, which decides
                    self._events.put(Fetched(job, token, error=exc))
                    return
                self._events.put(Fetched(job, token, page=page))
                if not page.next_token or page.next_token == token:
                    return  # the engine refuses a repeated token; never loop on one
                token = page.next_token
        finally:
            self._events.put(Fetched(job, token))

    def __iter__(self) -> Iterator[Fetched[T]]:
        while self._pending:
            event = self._events.get()
            if event.done:
                self._pending -= 1
                self._futures.pop(event.job, None)
            yield event

    def stop(self) -> None:
        """Start no further call; listings not yet started never start (and send nothing)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for job, future in list(self._futures.items()):
            if future.cancel():
                self._pending -= 1
                del self._futures[job]

    def abandon(self) -> None:
        """Stop, then wait for the calls in flight, dropping what they bring."""
        self.stop()
        while self._pending:
            if self._events.get().done:
                self._pending -= 1

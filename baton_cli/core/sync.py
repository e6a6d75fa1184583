"""The sync engine: walks a connector phase by phase into a store (runner.md §7).

The engine runs an action stack (``SyncState``) so that the work left to do is
always a small serialisable value: a checkpoint writes it into the store, and
the same loop carries on from it. Resources are read back from the store for
the entitlement and grant phases, so memory does not grow with the data.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from baton_cli.connector.api import (
    Connector,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceGetter,
    ResourceId,
    ResourceSyncer,
    SyncAware,
)
from baton_cli.core.cancel import CancelToken
from baton_cli.core.duplicates import (
    DuplicatePolicy,
    duplicate_entitlement,
    duplicate_grant,
    duplicate_resource,
)
from baton_cli.core.expand import ExpansionProgress, expand_grants
from baton_cli.core.ingest import IngestFilter
from baton_cli.core.parallel import LISTINGS_PER_WORKER, PagePump
from baton_cli.core.progress import NullObserver, Phase, RowKind, SyncObserver
from baton_cli.core.retry import RetryPolicy
from baton_cli.core.sync_options import SyncOptions, SyncResult
from baton_cli.core.sync_state import (
    OP_GRANT_EXPANSION,
    OP_LIST_ENTITLEMENTS,
    OP_LIST_GRANTS,
    OP_LIST_RESOURCE_TYPES,
    OP_LIST_RESOURCES,
    OP_TARGETED,
    Action,
    SyncState,
)
from baton_cli.core.sync_store import SyncStore
from baton_cli.core.traits import check_trait, child_resource_type_ids, skips
from baton_cli.errors import BatonError, CancelledError, ConnectorError, StatusCode, UsageError

CHECKPOINT_INTERVAL_SECONDS = 10.0
# How many stored resources one "walk the store" step loads before handing
# each to its own per-resource action.
STORE_BATCH = 500

# Phase progress goes to the observer at most this often (and at a phase's last unit).
PROGRESS_REPORT_SECONDS = 0.2

T = TypeVar("T")


@dataclass(slots=True)
class _Walk:
    """How far a phase's walk over the stored resources has come."""

    phase: Phase
    operation: str
    done: int
    total: int
    reported: float = float("-inf")


_INVARIANT_WARNINGS = {
    "I7": "entitlements name a resource that is not in the sync",
    "I8": "grants name an entitlement that is not in the sync",
    "I9": "grants name a principal that is not in the sync",
}

# More than this many warnings, making up more than WARNING_SHARE of the actions, fail the sync.
WARNING_LIMIT = 10
WARNING_SHARE = 0.10


class SyncEngine:
    def __init__(
        self,
        connector: Connector,
        store: SyncStore,
        *,
        observer: SyncObserver | None = None,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
        env: Mapping[str, str] | None = None,
        resume: bool = True,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
        options: SyncOptions | None = None,
        retry_base_seconds: float = 1.0,
        duplicate_ids: DuplicatePolicy = "warn",
        workers: int = 1,
    ) -> None:
        self._duplicate_ids = duplicate_ids
        self._options = options or SyncOptions()
        self._env = dict(env or {})
        self._resume = resume
        self._checkpoint_interval = checkpoint_interval
        self._connector = connector
        self._store = store
        self._observer = observer or NullObserver()
        self._cancel = cancel or CancelToken()
        self._clock = clock
        self._syncers: dict[str, ResourceSyncer] = {}
        self._counts = {kind.value: 0 for kind in RowKind}
        # Resources loaded by a store walk, kept until their per-resource actions run.
        self._pending: dict[tuple[str, str], Resource] = {}
        self._phase: Phase | None = None
        self._cancel_token = self._cancel
        self._retry = RetryPolicy(self._cancel, base_seconds=retry_base_seconds, on_retry=self._retrying)
        self._warnings: list[str] = []
        self._skipped: list[str] = []
        self._filter = IngestFilter((), full_sync=True)
        self._type_annotation_urls: dict[str, frozenset[str]] = {}
        # More than one worker: per-resource listings run in parallel (see _run_batch).
        self._workers = max(1, workers)
        self._pump: PagePump | None = None
        self._thread = threading.current_thread()
        self._worker_notes: deque[str] = deque()  # notes from worker threads, shown by this thread
        self._walk: _Walk | None = None
        self._expansion_reported = float("-inf")

    def run(self) -> SyncResult:
        started = self._clock()
        self._enter(Phase.VALIDATE)
        self._call("validating the connector", self._connector.validate)
        for syncer in self._connector.resource_syncers():
            type_id = syncer.resource_type.id
            if not type_id:
                raise ConnectorError("connector returned a resource syncer whose resource type has no id")
            if type_id in self._syncers:
                raise ConnectorError(f"connector returned two resource syncers for resource type {type_id!r}")
            self._syncers[type_id] = syncer

        options = self._options
        self._apply_type_filter()
        full = options.sync_type == "full"
        self._filter = IngestFilter(self._syncers, full_sync=full)
        unfinished = self._store.unfinished_sync(options.sync_type) if self._resume else None
        if unfinished is not None and (token := self._store.resume_sync(unfinished)):
            sync_id = unfinished.sync_id
            state = SyncState.from_token(token)
            top = state.actions[-1].operation if state.actions else Phase.FINALIZE.value
            self._observer.note(
                f"resuming sync {sync_id} (started {unfinished.started_at}) from {top}; "
                f"{len(state.actions):,} {'action' if len(state.actions) == 1 else 'actions'} left"
            )
        else:
            if unfinished is not None:
                sync_id = unfinished.sync_id
            else:
                parent = self._store.latest_full_sync_id() if options.targets else ""
                sync_id = self._store.start_sync(options.sync_type, parent)
            state = self._initial_state()
        resumed = bool(state.completed_actions)
        if isinstance(self._connector, SyncAware):
            self._connector.sync_started(sync_id)
        self._pump = PagePump(self._workers) if self._workers > 1 else None
        try:
            self._drive(state)
        finally:
            if self._pump is not None:
                self._pump.close()
                self._pump = None
        self._enter(Phase.FINALIZE)
        self._check_invariants()
        for reason, rows in sorted(self._filter.dropped.items()):
            self._observer.note(f"warning: dropped {rows:,} {'row' if rows == 1 else 'rows'}: {reason}")
        state.actions.clear()
        self._store.set_sync_token(state.to_token())
        stats = self._store.end_sync()
        self._store.mark_invariants_verified(sync_id)
        if isinstance(self._connector, SyncAware):
            self._call("cleaning up the connector", partial(self._connector.sync_finished, sync_id))
        counts = {kind.value: _stat(stats, kind.value) for kind in RowKind} if resumed else dict(self._counts)
        return SyncResult(
            sync_id,
            counts,
            self._clock() - started,
            state.needs_expansion,
            resumed,
            options.sync_type,
            (*self._warnings, *self._skipped),
            dict(self._filter.dropped),
        )

    def _check_invariants(self) -> None:
        outcome = self._store.check_invariants()
        if outcome.failures:
            raise ConnectorError(
                f"ingestion invariant I5 failed (entitlement exclusion groups must have at most one "
                f"default, one resource type and 50 members): {outcome.failures[0]}",
                code=StatusCode.FAILED_PRECONDITION,
            )
        for invariant, rows in sorted(outcome.warnings.items()):
            what = _INVARIANT_WARNINGS.get(invariant, invariant)
            self._warnings.append(f"{invariant}: {rows} {what}")
            self._observer.note(f"warning: {invariant}: {rows} {what}")

    def _apply_type_filter(self) -> None:
        wanted = self._options.resource_type_ids
        if not wanted:
            return
        unknown = [t for t in wanted if t not in self._syncers]
        if unknown:
            raise UsageError(
                f"--sync-resource-types: unknown resource type {unknown[0]!r}; "
                f"the connector has {', '.join(sorted(self._syncers))}"
            )
        self._syncers = {t: s for t, s in self._syncers.items() if t in wanted}

    def _initial_state(self) -> SyncState:
        options = self._options
        state = SyncState(
            should_skip_entitlements_and_grants=options.skip_entitlements_and_grants,
            should_skip_grants=options.skip_grants,
        )
        if options.targets:
            # Targeted: resource types first, then each target with its children, entitlements, grants.
            seen: set[tuple[str, str, str, str]] = set()
            targets = []
            parents = options.target_parents or (None,) * len(options.targets)
            for target, parent in zip(options.targets, parents, strict=True):
                if target.resource_type not in self._syncers:
                    self._skip(
                        f"skipped target {target.resource_type}:{target.resource}: its resource type "
                        "is not among the types being synced"
                    )
                    continue
                action = Action(
                    OP_TARGETED,
                    resource_type_id=target.resource_type,
                    resource_id=target.resource,
                    parent_resource_type_id=parent.resource_type if parent else "",
                    parent_resource_id=parent.resource if parent else "",
                )
                key = (
                    action.resource_type_id,
                    action.resource_id,
                    action.parent_resource_type_id,
                    action.parent_resource_id,
                )
                if key not in seen:
                    seen.add(key)
                    targets.append(action)
            state.push(Action(OP_LIST_RESOURCE_TYPES), *targets)
            return state
        actions = [
            Action(OP_LIST_RESOURCE_TYPES),
            *(Action(OP_LIST_RESOURCES, resource_type_id=t) for t in self._syncers),
        ]
        if not options.skip_entitlements_and_grants:
            actions.append(Action(OP_LIST_ENTITLEMENTS))
            if not options.skip_grants:
                actions.append(Action(OP_LIST_GRANTS))
                if not options.skip_expand_grants:
                    actions.append(Action(OP_GRANT_EXPANSION))
        state.push(*actions)
        return state

    # -- the loop -----------------------------------------------------------

    def _drive(self, state: SyncState) -> None:
        self._last_checkpoint = self._clock()
        previous: str | None = None
        while (action := state.pop()) is not None:
            if self._cancel.cancelled:
                # Between actions the stack and the stored rows agree: keep them for a resume.
                state.actions.append(action)
                self._checkpoint(state)
                phase = self._phase.value if self._phase else "start"
                raise CancelledError(f"sync cancelled during {phase}: {self._cancel.reason}")
            if previous is not None and action.operation != previous:
                # A phase change: checkpoint with this action still on the stack.
                state.actions.append(action)
                self._checkpoint(state)
                state.actions.pop()
                self._last_checkpoint = self._clock()
            previous = action.operation
            if self._pump is not None and _parallel(action):
                self._enter_phase_of(action, state)
                self._run_window(self._pump, action, state)
            else:
                self._run_action(action, state)
                state.completed_actions += 1
                self._check_warnings(state)
            if self._clock() - self._last_checkpoint >= self._checkpoint_interval:
                self._checkpoint(state)
                self._last_checkpoint = self._clock()

    def _check_warnings(self, state: SyncState) -> None:
        warnings = len(self._warnings)
        if warnings > WARNING_LIMIT and warnings > WARNING_SHARE * state.completed_actions:
            raise ConnectorError(
                f"too many warnings: {warnings} in {state.completed_actions} actions; "
                f"the last: {self._warnings[-1]}"
            )

    def _checkpoint(self, state: SyncState) -> None:
        self._store.set_sync_token(state.to_token())
        self._store.checkpoint()

    def _run_action(self, action: Action, state: SyncState) -> None:
        match action.operation:
            case "list-resource-types":
                self._enter(Phase.LIST_RESOURCE_TYPES)
                types = [s.resource_type for s in self._syncers.values()]
                self._stored(RowKind.RESOURCE_TYPES, self._store.put_resource_types(types))
            case "list-resources":
                self._enter(Phase.LIST_RESOURCES)
                self._list_resources(action, state)
            case "list-entitlements" | "list-grants":
                phase = (
                    Phase.LIST_ENTITLEMENTS if action.operation == OP_LIST_ENTITLEMENTS else Phase.LIST_GRANTS
                )
                if phase != self._phase:
                    self._enter(phase)
                    self._start_walk(phase, action, state)
                if action.resource_id:
                    self._list_for_resource(action, state)
                    self._resource_walked(action, state)
                else:
                    self._walk_store(action, state)
            case "targeted-resource-sync":
                self._enter(Phase.LIST_RESOURCES)
                self._targeted(action, state)
            case "grant-expansion":
                if state.needs_expansion:
                    self._enter(Phase.GRANT_EXPANSION)
                    state.actions.append(action)  # a resumed run starts the expansion again
                    self._checkpoint(state)
                    state.actions.pop()
                    result = expand_grants(
                        self._store.expansion_store(),
                        env=self._env,
                        cancel=self._cancel,
                        on_progress=self._expansion_progress,
                    )
                    self._stored(RowKind.GRANTS, result.grants_created)
            case other:
                raise UsageError(f"sync state holds an unknown action {other!r}")

    def _list_resources(self, action: Action, state: SyncState) -> None:
        syncer = self._syncer(action.resource_type_id)
        parent = (
            ResourceId(resource_type=action.parent_resource_type_id, resource=action.parent_resource_id)
            if action.parent_resource_id
            else None
        )
        page = self._page(action, lambda: syncer.list(parent, action.page_token), what="resources")
        if page is None:
            return
        if page.next_token:
            state.push(action.next_page(page.next_token))
        # Children (pushed last) run before the parent's next page: depth first, as upstream.
        self._store_resources(syncer, page.items, state)

    # -- parallel listing (--workers) ---------------------------------------

    def _run_window(self, pump: PagePump, first: Action, state: SyncState) -> None:
        """List ``first`` and the same phase's next listings concurrently; store on this thread.

        Listings of the operation on top of the stack are handed to the pool as
        workers free up (a store walk of the phase is read on the way), so the pool
        stays busy until the phase runs out of them. Each listing is driven through
        all its pages, and every stored page moves its token on: the listings not
        finished, pushed back with those tokens, are exactly the work not yet stored.
        That is what a checkpoint inside the window writes, and what a cancel leaves.
        """
        operation = first.operation
        jobs: dict[int, _Job] = {}
        run = pump.start()
        limit = pump.workers * LISTINGS_PER_WORKER
        waiting = [first]
        numbers = itertools.count()  # job numbers follow the order listings left the stack

        def refill() -> None:
            while run.running < limit and not self._cancel.cancelled:
                if waiting:
                    action = waiting.pop()
                else:
                    top = state.actions[-1] if state.actions else None
                    if top is None or top.operation != operation:
                        return
                    if operation != OP_LIST_RESOURCES and not top.resource_id:
                        self._walk_store(state.actions.pop(), state)  # this phase's next stored resources
                        state.completed_actions += 1
                        continue
                    if not _parallel(top):
                        return
                    action = state.actions.pop()
                listing = self._listing(action)
                if listing is None:
                    state.completed_actions += 1  # skipped by an annotation: done
                    self._walked_one(operation)
                    continue
                job = next(numbers)
                jobs[job] = _Job(action, listing)
                run.add(job, self._worker_call(action, listing), action.page_token)

        refill()
        try:
            for event in run:
                self._show_worker_notes()
                if self._cancel.cancelled:
                    run.stop()  # nothing new; what is already on its way is still stored below
                current = jobs[event.job]
                if event.done:
                    if current.finished:
                        del jobs[event.job]
                    refill()
                    continue
                if event.error is not None:
                    error = event.error
                    if isinstance(error, BatonError) and error.code == StatusCode.NOT_FOUND:
                        self._warn(str(error))
                        current.finished = True
                        state.completed_actions += 1
                        self._walked_one(operation)
                        self._check_warnings(state)
                        continue
                    if isinstance(error, CancelledError) or self._cancel.cancelled:
                        continue  # this listing stays where it was, for the resume
                    raise error
                page = event.page
                assert page is not None
                current.listing.store(current.action.next_page(event.token), page, state)
                state.completed_actions += 1
                current.token = page.next_token
                if not page.next_token:
                    current.finished = True
                    self._walked_one(operation)
                self._check_warnings(state)
                if self._clock() - self._last_checkpoint >= self._checkpoint_interval:
                    left = _unfinished(jobs)
                    state.push(*left)
                    self._checkpoint(state)
                    del state.actions[len(state.actions) - len(left) :]
                    self._last_checkpoint = self._clock()
        finally:
            run.abandon()  # a no-op unless an error ended the window early
            self._show_worker_notes()
        state.push(*_unfinished(jobs))  # only when cut short; the loop then checkpoints them and stops

    def _enter_phase_of(self, action: Action, state: SyncState) -> None:
        if action.operation == OP_LIST_RESOURCES:
            self._enter(Phase.LIST_RESOURCES)
            return
        phase = Phase.LIST_ENTITLEMENTS if action.operation == OP_LIST_ENTITLEMENTS else Phase.LIST_GRANTS
        if phase != self._phase:
            self._enter(phase)
            self._start_walk(phase, action, state)

    def _walked_one(self, operation: str) -> None:
        walk = self._walk
        if walk is not None and walk.operation == operation:
            walk.done += 1
            self._report_walk(force=walk.done >= walk.total)

    def _listing(self, action: Action) -> _Listing | None:
        """How to list ``action``'s pages and store each; None when annotations skip it."""
        syncer = self._syncer(action.resource_type_id)
        if action.operation == OP_LIST_RESOURCES:
            parent = ResourceId(
                resource_type=action.parent_resource_type_id, resource=action.parent_resource_id
            )
            return _Listing(
                partial(syncer.list, parent),
                lambda _action, page, state: self._store_resources(syncer, page.items, state),
                "resources",
            )
        key = (action.resource_type_id, action.resource_id)
        resource = self._pending.pop(key, None) or self._store.get_resource(*key)
        if resource is None:
            raise ConnectorError(
                f"resource {key[0]}:{key[1]} vanished from the store during {action.operation}"
            )
        if self._skips(syncer, resource, action.operation):
            return None
        if action.operation == OP_LIST_ENTITLEMENTS:
            return _Listing(partial(syncer.entitlements, resource), self._store_entitlements, "entitlements")
        return _Listing(partial(syncer.grants, resource), self._store_grants, "grants")

    def _worker_call(self, action: Action, listing: _Listing) -> Callable[[str], Page[Any]]:
        def call(token: str) -> Page[Any]:
            at = action.next_page(token)
            page = self._call(at, partial(listing.list_page, token))
            return self._checked(at, page, what=listing.what)

        return call

    def _show_worker_notes(self) -> None:
        while self._worker_notes:
            self._observer.note(self._worker_notes.popleft())

    def _store_resources(self, syncer: ResourceSyncer, items: Sequence[Resource], state: SyncState) -> None:
        resource_type = syncer.resource_type
        self._report_duplicate("resource", duplicate_resource(items), resource_type.id)
        items = self._filter.resources(items)
        children: list[Action] = []
        for resource in items:
            check_trait(resource_type, resource)
            for child_type in child_resource_type_ids(resource):
                if child_type in self._syncers:
                    children.append(
                        Action(
                            OP_LIST_RESOURCES,
                            resource_type_id=child_type,
                            parent_resource_type_id=resource.id.resource_type,
                            parent_resource_id=resource.id.resource,
                        )
                    )
        self._stored(RowKind.RESOURCES, self._store.put_resources(items))
        state.push(*children)

    def _targeted(self, action: Action, state: SyncState) -> None:
        syncer = self._syncer(action.resource_type_id)
        if not isinstance(syncer, ResourceGetter):
            self._skip(
                f"skipped target {action.resource_type_id}:{action.resource_id}: resource type "
                f"{action.resource_type_id!r} cannot fetch single resources"
            )
            return
        resource_id = ResourceId(resource_type=action.resource_type_id, resource=action.resource_id)
        parent = (
            ResourceId(resource_type=action.parent_resource_type_id, resource=action.parent_resource_id)
            if action.parent_resource_id
            else None
        )
        where = f"targeted-resource-sync of {action.resource_type_id}:{action.resource_id}"
        try:
            resource = self._call(where, lambda: syncer.get(resource_id, parent))
        except BatonError as exc:
            if exc.code in (StatusCode.NOT_FOUND, StatusCode.UNIMPLEMENTED):
                # Upstream skips such targets silently; a person should hear of it.
                self._skip(f"skipped target {action.resource_type_id}:{action.resource_id}: {exc}")
                return
            raise
        if resource is None:
            self._skip(
                f"skipped target {action.resource_type_id}:{action.resource_id}: "
                "the connector has no such resource"
            )
            return
        self._store_resources(syncer, [resource], state)
        key = (resource.id.resource_type, resource.id.resource)
        follow_ups = []
        if not state.should_skip_entitlements_and_grants:
            follow_ups.append(Action(OP_LIST_ENTITLEMENTS, resource_type_id=key[0], resource_id=key[1]))
            if not state.should_skip_grants:
                follow_ups.append(Action(OP_LIST_GRANTS, resource_type_id=key[0], resource_id=key[1]))
        self._pending[key] = resource
        state.push(*follow_ups)

    def _start_walk(self, phase: Phase, action: Action, state: SyncState) -> None:
        """Size the store walk a phase begins with; a resumed run begins part-way through it."""
        if self._options.targets:
            self._walk = None  # targets are walked one by one, with no total to speak of
            return
        stack = [*state.actions, action]
        walk = next((a for a in stack if a.operation == action.operation and not a.resource_id), None)
        unread = self._store.count_resources_after(int(walk.page_token or 0)) if walk else 0
        pending = {(a.resource_type_id, a.resource_id) for a in stack if a.operation == action.operation}
        pending.discard(("", ""))
        total = self._store.count_resources_after(0)
        self._walk = _Walk(phase, action.operation, max(0, total - unread - len(pending)), total)
        self._report_walk(force=True)

    def _resource_walked(self, action: Action, state: SyncState) -> None:
        walk = self._walk
        if walk is None or walk.operation != action.operation:
            return
        top = state.actions[-1] if state.actions else None
        if (
            top is not None
            and top.resource_id == action.resource_id
            and top.resource_type_id == action.resource_type_id
            and top.operation == action.operation
        ):
            return  # the resource's next page follows
        walk.done += 1
        self._report_walk(force=walk.done >= walk.total)

    def _report_walk(self, *, force: bool) -> None:
        walk = self._walk
        if walk is None:
            return
        now = self._clock()
        # One report per resource would cost more than the listing of a small one.
        if force or now - walk.reported >= PROGRESS_REPORT_SECONDS:
            walk.reported = now
            self._observer.phase_progress(walk.phase, walk.done, walk.total)

    def _expansion_progress(self, progress: ExpansionProgress) -> None:
        now = self._clock()
        if progress.pairs_done >= progress.pairs or now - self._expansion_reported >= PROGRESS_REPORT_SECONDS:
            self._expansion_reported = now
            self._observer.phase_progress(Phase.GRANT_EXPANSION, progress.pairs_done, progress.pairs)

    def _walk_store(self, action: Action, state: SyncState) -> None:
        after = int(action.page_token or 0)
        batch = self._store.resources_after(after, STORE_BATCH)
        if not batch:
            return
        state.push(action.next_page(str(batch[-1][0])))
        per_resource = []
        for _row_id, resource in batch:
            key = (resource.id.resource_type, resource.id.resource)
            self._pending[key] = resource
            per_resource.append(Action(action.operation, resource_type_id=key[0], resource_id=key[1]))
        state.push(*per_resource)

    def _list_for_resource(self, action: Action, state: SyncState) -> None:
        key = (action.resource_type_id, action.resource_id)
        resource = self._pending.pop(key, None) or self._store.get_resource(*key)
        if resource is None:
            raise ConnectorError(
                f"resource {key[0]}:{key[1]} vanished from the store during {action.operation}"
            )
        syncer = self._syncer(action.resource_type_id)
        if self._skips(syncer, resource, action.operation):
            return
        if action.operation == OP_LIST_ENTITLEMENTS:
            ents = self._page(
                action, lambda: syncer.entitlements(resource, action.page_token), what="entitlements"
            )
            if ents is None:
                return
            self._store_entitlements(action, ents, state)
            next_token = ents.next_token
        else:
            grants = self._page(action, lambda: syncer.grants(resource, action.page_token), what="grants")
            if grants is None:
                return
            self._store_grants(action, grants, state)
            next_token = grants.next_token
        if next_token:
            self._pending[key] = resource
            state.push(action.next_page(next_token))

    def _store_entitlements(self, action: Action, page: Page[Entitlement], state: SyncState) -> None:
        if (duplicate := duplicate_entitlement(page.items)) is not None:
            listing = f"{action.resource_type_id}:{action.resource_id}"
            self._report_duplicate("entitlement", duplicate, listing)
        self._stored(
            RowKind.ENTITLEMENTS, self._store.put_entitlements(self._filter.entitlements(page.items))
        )

    def _store_grants(self, action: Action, page: Page[Grant], state: SyncState) -> None:
        if (duplicate := duplicate_grant(page.items)) is not None:
            listing = f"{action.resource_type_id}:{action.resource_id}"
            self._report_duplicate("grant", duplicate, listing)
        kept, ids = self._filter.grants_with_ids(page.items)
        if not state.needs_expansion and self._filter.saw_expandable:
            state.needs_expansion = not self._options.skip_expand_grants and not self._options.targets
        if self._options.targets:
            self._fetch_related(kept, state)
        self._stored(RowKind.GRANTS, self._store.put_grants(kept, ids))

    def _fetch_related(self, grants: Sequence[Grant], state: SyncState) -> None:
        """Targeted syncs store the entitlement resources their grants name (runner.md §7.2 step 5)."""
        for grant in grants:
            rid = grant.entitlement.resource.id
            if (rid.resource_type, rid.resource) in self._pending or rid.resource_type not in self._syncers:
                continue
            if self._store.get_resource(rid.resource_type, rid.resource) is not None:
                continue
            syncer = self._syncers[rid.resource_type]
            if not isinstance(syncer, ResourceGetter):
                continue
            resource = self._call(
                f"fetching related resource {rid.resource_type}:{rid.resource}",
                partial(syncer.get, rid, None),
            )
            if resource is not None:
                self._store_resources(syncer, [resource], state)

    # -- helpers ------------------------------------------------------------

    def _skips(self, syncer: ResourceSyncer, resource: Resource, operation: str) -> bool:
        # A connector may build its ResourceType on every access: read each type's markers once.
        type_id = resource.id.resource_type
        type_urls = self._type_annotation_urls.get(type_id)
        if type_urls is None:
            type_urls = frozenset(a.type_url for a in syncer.resource_type.annotations)
            self._type_annotation_urls[type_id] = type_urls
        return skips(type_urls, resource, operation)

    def _syncer(self, type_id: str) -> ResourceSyncer:
        try:
            return self._syncers[type_id]
        except KeyError:
            raise ConnectorError(f"no resource syncer for resource type {type_id!r}") from None

    def _page(self, action: Action, call: Callable[[], Page[T]], *, what: str) -> Page[T] | None:
        """One page from the connector; None when it said NOT_FOUND (a warning: the action is skipped)."""
        try:
            page = self._call(action, call)
        except BatonError as exc:
            if exc.code != StatusCode.NOT_FOUND:
                raise
            self._warn(str(exc))
            return None
        return self._checked(action, page, what=what)

    @staticmethod
    def _checked(action: Action, page: Page[T], *, what: str) -> Page[T]:
        # Described only on failure: building the description cost more than most listings.
        if not isinstance(page, Page):
            raise ConnectorError(
                f"{_where(action)}: connector returned {type(page).__name__}, expected a Page of {what}"
            )
        if page.next_token and page.next_token == action.page_token:
            raise ConnectorError(
                f"{_where(action)}: connector returned the same page token again (endless pagination)"
            )
        return page

    def _skip(self, message: str) -> None:
        """A warning that does not count towards failing the sync (targets it could not honour)."""
        self._skipped.append(message)
        self._observer.note(f"warning: {message}")

    def _report_duplicate(self, kind: str, duplicate: str | None, listing: str) -> None:
        if duplicate is None:
            return
        message = f"{kind} id {duplicate!r} appears twice in one page listed for {listing!r}"
        if self._duplicate_ids == "error":
            raise ConnectorError(message)
        self._warn(f"{message}; the last one is kept")

    def _warn(self, message: str) -> None:
        self._warnings.append(message)
        self._observer.note(f"warning: {message}")

    def _retrying(self, error: BatonError, wait: float) -> None:
        message = f"retrying in {wait:.0f}s: {error}"
        if threading.current_thread() is self._thread:
            self._observer.note(message)
        else:
            self._worker_notes.append(message)  # the observer is only called from the engine's thread

    def _call(self, where: str | Action, call: Callable[[], T]) -> T:
        """``call`` with retries; errors name ``where`` (an action is described only on failure)."""
        try:
            return self._retry.call(partial(_as_baton_error, call))
        except CancelledError:
            raise
        except BatonError as exc:
            raise type(exc)(f"{_described(where)}: {exc}", code=exc.code) from exc
        except Exception as exc:  # pragma: no cover - _as_baton_error converts everything
            raise ConnectorError(f"{_described(where)}: {type(exc).__name__}: {exc}") from exc

    def _enter(self, phase: Phase) -> None:
        if phase != self._phase:
            self._phase = phase
            self._observer.phase_started(phase)

    def _stored(self, kind: RowKind, rows: int) -> None:
        self._counts[kind.value] += rows
        self._observer.page_stored(kind, rows)


class _Job:
    """A listing in a parallel window: its action, and the token of its next unstored page."""

    __slots__ = ("action", "finished", "listing", "token")

    def __init__(self, action: Action, listing: _Listing) -> None:
        self.action = action
        self.listing = listing
        self.token = action.page_token
        self.finished = False


def _unfinished(jobs: Mapping[int, _Job]) -> list[Action]:
    """The window's listings still to do, in the order they were taken off the stack."""
    return [job.action.next_page(job.token) for _, job in sorted(jobs.items()) if not job.finished]


class _Listing:
    """One parallel listing: the connector call for a page token, and how to store a page."""

    __slots__ = ("list_page", "store", "what")

    def __init__(
        self,
        list_page: Callable[[str], Page[Any]],
        store: Callable[[Action, Page[Any], SyncState], None],
        what: str,
    ) -> None:
        self.list_page = list_page
        self.store = store
        self.what = what


def _parallel(action: Action) -> bool:
    """Per-resource listings and child-resource listings can run side by side."""
    if action.operation in (OP_LIST_ENTITLEMENTS, OP_LIST_GRANTS):
        return bool(action.resource_id)
    return action.operation == OP_LIST_RESOURCES and bool(action.parent_resource_id)


def _described(where: str | Action) -> str:
    return where if isinstance(where, str) else _where(where)


def _where(action: Action) -> str:
    where = f"{action.operation} for resource type {action.resource_type_id!r}"
    if action.resource_id:
        where += f", resource {action.resource_id!r}"
    return where + (f", page token {action.page_token!r}" if action.page_token else ", first page")


def iter_all(pages: Callable[[str], Page[T]]) -> Iterator[T]:
    """Follow page tokens until empty (for tests and one-shot lookups)."""
    token = ""
    while True:
        page = pages(token)
        yield from page.items
        if not page.next_token:
            return
        token = page.next_token


def _as_baton_error(call: Callable[[], T]) -> T:
    """Run a connector call; anything but a BatonError becomes a ConnectorError (not retried)."""
    try:
        return call()
    except BatonError:
        raise
    except Exception as exc:
        raise ConnectorError(f"{type(exc).__name__}: {exc}") from exc


def _stat(stats: Mapping[str, object], key: str) -> int:
    value = stats.get(key, 0)
    return value if isinstance(value, int) else 0

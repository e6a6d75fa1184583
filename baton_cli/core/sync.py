"""The sync engine: walks a connector phase by phase into a store (runner.md §7).

The engine runs an action stack (``SyncState``) so that the work left to do is
always a small serialisable value: a checkpoint writes it into the store, and
the same loop carries on from it. Resources are read back from the store for
the entitlement and grant phases, so memory does not grow with the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from baton_cli.connector.api import (
    Connector,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.core.cancel import CancelToken
from baton_cli.core.expand import ExpansionStore, expand_grants
from baton_cli.core.progress import NullObserver, Phase, RowKind, SyncObserver
from baton_cli.core.sync_state import (
    OP_GRANT_EXPANSION,
    OP_LIST_ENTITLEMENTS,
    OP_LIST_GRANTS,
    OP_LIST_RESOURCE_TYPES,
    OP_LIST_RESOURCES,
    Action,
    SyncState,
)
from baton_cli.core.traits import check_trait, child_resource_type_ids, has_grant_expandable
from baton_cli.errors import BatonError, CancelledError, ConnectorError, UsageError

CHECKPOINT_INTERVAL_SECONDS = 10.0
# How many stored resources one "walk the store" step loads before handing
# each to its own per-resource action.
STORE_BATCH = 500

T = TypeVar("T")


class SyncStore(Protocol):
    """What the engine needs from the c1z writer."""

    def start_sync(self, sync_type: str = "full", parent_sync_id: str = "") -> str: ...

    def put_resource_types(self, items: Sequence[ResourceType]) -> int: ...

    def put_resources(self, items: Sequence[Resource]) -> int: ...

    def put_entitlements(self, items: Sequence[Entitlement]) -> int: ...

    def put_grants(self, items: Sequence[Grant]) -> int: ...

    def resources_after(self, row_id: int, limit: int) -> list[tuple[int, Resource]]: ...

    def get_resource(self, resource_type_id: str, resource_id: str) -> Resource | None: ...

    def set_sync_token(self, token: str) -> None: ...

    def checkpoint(self) -> None: ...

    def end_sync(self) -> dict[str, object]: ...

    def expansion_store(self) -> ExpansionStore: ...

    def unfinished_sync(self) -> UnfinishedSync | None: ...

    def resume_sync(self, run: Any) -> str: ...


class UnfinishedSync(Protocol):
    @property
    def sync_id(self) -> str: ...

    @property
    def started_at(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SyncResult:
    sync_id: str
    counts: dict[str, int]
    seconds: float
    needs_expansion: bool
    resumed: bool = False


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
    ) -> None:
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

        unfinished = self._store.unfinished_sync() if self._resume else None
        if unfinished is not None and (token := self._store.resume_sync(unfinished)):
            sync_id = unfinished.sync_id
            state = SyncState.from_token(token)
            self._observer.note(
                f"resuming unfinished sync {sync_id} started {unfinished.started_at} "
                f"({len(state.actions)} actions left)"
            )
        else:
            sync_id = unfinished.sync_id if unfinished is not None else self._store.start_sync("full")
            state = SyncState()
            state.push(
                Action(OP_LIST_RESOURCE_TYPES),
                *(Action(OP_LIST_RESOURCES, resource_type_id=t) for t in self._syncers),
                Action(OP_LIST_ENTITLEMENTS),
                Action(OP_LIST_GRANTS),
                Action(OP_GRANT_EXPANSION),
            )
        resumed = bool(state.completed_actions)
        self._drive(state)
        self._enter(Phase.FINALIZE)
        state.actions.clear()
        self._store.set_sync_token(state.to_token())
        self._store.end_sync()
        return SyncResult(
            sync_id, dict(self._counts), self._clock() - started, state.needs_expansion, resumed
        )

    # -- the loop -----------------------------------------------------------

    def _drive(self, state: SyncState) -> None:
        last_checkpoint = self._clock()
        while (action := state.pop()) is not None:
            if self._cancel.cancelled:
                # Between actions the stack and the stored rows agree: keep them for a resume.
                state.actions.append(action)
                self._checkpoint(state)
                phase = self._phase.value if self._phase else "start"
                raise CancelledError(f"sync cancelled during {phase}: {self._cancel.reason}")
            self._run_action(action, state)
            state.completed_actions += 1
            if self._clock() - last_checkpoint >= self._checkpoint_interval:
                self._checkpoint(state)
                last_checkpoint = self._clock()

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
                self._enter(
                    Phase.LIST_ENTITLEMENTS if action.operation == OP_LIST_ENTITLEMENTS else Phase.LIST_GRANTS
                )
                if action.resource_id:
                    self._list_for_resource(action, state)
                else:
                    self._walk_store(action, state)
            case "grant-expansion":
                if state.needs_expansion:
                    self._enter(Phase.GRANT_EXPANSION)
                    state.actions.append(action)  # a resumed run starts the expansion again
                    self._checkpoint(state)
                    state.actions.pop()
                    result = expand_grants(self._store.expansion_store(), env=self._env, cancel=self._cancel)
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
        resource_type = syncer.resource_type
        children: list[Action] = []
        for resource in page.items:
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
        self._stored(RowKind.RESOURCES, self._store.put_resources(page.items))
        if page.next_token:
            state.push(action.next_page(page.next_token))
        # Children run before the parent's next page: depth first, as upstream.
        state.push(*children)

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
        if action.operation == OP_LIST_ENTITLEMENTS:
            ents = self._page(
                action, lambda: syncer.entitlements(resource, action.page_token), what="entitlements"
            )
            self._stored(RowKind.ENTITLEMENTS, self._store.put_entitlements(ents.items))
            next_token = ents.next_token
        else:
            grants = self._page(action, lambda: syncer.grants(resource, action.page_token), what="grants")
            if not state.needs_expansion and any(has_grant_expandable(g) for g in grants.items):
                state.needs_expansion = True
            self._stored(RowKind.GRANTS, self._store.put_grants(grants.items))
            next_token = grants.next_token
        if next_token:
            self._pending[key] = resource
            state.push(action.next_page(next_token))

    # -- helpers ------------------------------------------------------------

    def _syncer(self, type_id: str) -> ResourceSyncer:
        try:
            return self._syncers[type_id]
        except KeyError:
            raise ConnectorError(f"no resource syncer for resource type {type_id!r}") from None

    def _page(self, action: Action, call: Callable[[], Page[T]], *, what: str) -> Page[T]:
        where = f"{action.operation} for resource type {action.resource_type_id!r}"
        if action.resource_id:
            where += f", resource {action.resource_id!r}"
        where += f", page token {action.page_token!r}" if action.page_token else ", first page"
        page = self._call(where, call)
        if not isinstance(page, Page):
            raise ConnectorError(
                f"{where}: connector returned {type(page).__name__}, expected a Page of {what}"
            )
        if page.next_token and page.next_token == action.page_token:
            raise ConnectorError(
                f"{where}: connector returned the same page token again (endless pagination)"
            )
        return page

    def _call(self, where: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except BatonError as exc:
            raise type(exc)(f"{where}: {exc}", code=exc.code) from exc
        except Exception as exc:
            raise ConnectorError(f"{where}: {type(exc).__name__}: {exc}") from exc

    def _enter(self, phase: Phase) -> None:
        if phase != self._phase:
            self._phase = phase
            self._observer.phase_started(phase)

    def _stored(self, kind: RowKind, rows: int) -> None:
        self._counts[kind.value] += rows
        self._observer.page_stored(kind, rows)


def iter_all(pages: Callable[[str], Page[T]]) -> Iterator[T]:
    """Follow page tokens until empty (for tests and one-shot lookups)."""
    token = ""
    while True:
        page = pages(token)
        yield from page.items
        if not page.next_token:
            return
        token = page.next_token

"""Grant expansion (runner.md §7.5): turn GrantExpandable edges into grants.

A grant of entitlement D to principal P carrying ``GrantExpandable{[S...]}``
says "whoever holds S (an entitlement on P) also holds D". Expansion builds
the graph of those edges, collapses its cycles, and then, layer by layer in
topological order, gives every holder of S a grant on D (or records S as a
source of the grant they already have).

The store is a Protocol so the algorithm is tested against a dict and runs
against the c1z SQLite work database (``baton_cli.c1z.expansion_store``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf import any_pb2

from baton_cli.connector.api import Entitlement, Grant, ResourceId
from baton_cli.core.cancel import CancelToken
from baton_cli.core.expand_graph import EdgeSpec, EntitlementGraph
from baton_cli.errors import FailedPreconditionError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2

DEFAULT_MAX_DEPTH = 20
# Upstream flushes at 10,000 waiting grants. Waiting grants are kept serialized (a few hundred
# bytes each, where a decoded Grant costs ~6 KB), so upstream's number costs little memory and
# a grant that several sources reach is written once per flush instead of once per source.
FLUSH_THRESHOLD = 10_000
# Destination entitlements kept decoded; bounded so huge graphs do not hold every one.
_ENTITLEMENT_CACHE = 4096
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})

PrincipalKey = tuple[str, str]  # (resource type id, resource id)
# A grant as expansion writes it, in the v1_grants column order: (entitlement resource type,
# entitlement resource id, entitlement id, principal type, principal id, grant id, serialized
# grant). Expansion serializes, so the store writes bytes it is handed as they are.
ExpandedRow = tuple[str, str, str, str, str, str, bytes]


class PendingExpansion(Protocol):
    """One grant whose GrantExpandable still has to be expanded."""

    @property
    def entitlement_id(self) -> str: ...  # D, the entitlement the grant is for

    @property
    def principal_type_id(self) -> str: ...

    @property
    def principal_id(self) -> str: ...

    @property
    def expandable(self) -> annotation_grant_pb2.GrantExpandable: ...


class ExpansionStore(Protocol):
    """What expansion needs from the store of the sync being expanded.

    Iterators must not keep a database cursor open between items: the
    expander writes grants while it walks them.
    """

    def pending_expansions(self) -> Iterator[PendingExpansion]: ...

    def get_entitlement(self, entitlement_id: str) -> Entitlement | None: ...

    def grant_pages(
        self, entitlement_id: str, principal_types: Collection[str] = ()
    ) -> Iterator[list[Grant]]:
        """Grants of an entitlement in pages, restricted to principal types when given."""
        ...

    def grants_for_principals(
        self, entitlement_id: str, principals: Collection[PrincipalKey]
    ) -> Mapping[PrincipalKey, list[Grant]]:
        """The grants each principal holds on an entitlement (principals without one are absent)."""
        ...

    def upsert_expanded_rows(self, rows: Sequence[ExpandedRow]) -> None:
        """Insert or replace grants by id, keeping stored expansion / needs_expansion values."""
        ...

    def mark_expansion_done(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExpansionSettings:
    max_depth: int = DEFAULT_MAX_DEPTH
    fix_cycles: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExpansionSettings:
        # Parsed as upstream does (Go ParseInt / ParseBool); unusable values mean the default.
        try:
            depth = int(env.get("BATON_GRAPH_EXPAND_MAX_DEPTH", "").strip())
        except ValueError:
            depth = 0
        return cls(
            max_depth=depth if depth > 0 else DEFAULT_MAX_DEPTH,
            fix_cycles=env.get("BATON_DONT_FIX_CYCLES", "").strip() not in _GO_TRUE,
        )


@dataclass(frozen=True, slots=True)
class ExpansionProgress:
    layer: int  # 1-based, of ``layers``
    layers: int
    pairs_done: int  # entitlement pairs S -> D expanded so far, of ``pairs``
    pairs: int


@dataclass(frozen=True, slots=True)
class ExpansionResult:
    edges: int  # entitlement pairs S -> D kept in the graph
    dropped_edges: int  # edges whose source (while loading) or destination (while expanding) was missing
    cycles_collapsed: int
    layers: int
    grants_created: int
    grants_updated: int  # writes of grants that already existed (one grant may count more than once)


def expand_grants(
    store: ExpansionStore,
    *,
    env: Mapping[str, str] | None = None,
    settings: ExpansionSettings | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[ExpansionProgress], None] | None = None,
) -> ExpansionResult:
    """Run the whole expansion; ``on_progress`` hears after every entitlement pair expanded."""
    settings = settings or ExpansionSettings.from_env(env or {})
    cancel = cancel or CancelToken()
    graph, dropped = load_graph(store)
    edges = graph.edge_count
    cycles = graph.cyclic_components()
    collapsed = 0
    if cycles:
        if not settings.fix_cycles:
            shown = ", ".join(cycles[0][:5]) + (", ..." if len(cycles[0]) > 5 else "")
            raise FailedPreconditionError(
                f"grant expansion: {len(cycles)} cycle(s) in the entitlement graph (first: {shown}) "
                "and BATON_DONT_FIX_CYCLES is set"
            )
        collapsed = graph.collapse_cycles()
    layers = graph.layers()
    if len(layers) > settings.max_depth:
        raise FailedPreconditionError(
            f"grant expansion needs {len(layers)} layers, more than the maximum depth of "
            f"{settings.max_depth} (BATON_GRAPH_EXPAND_MAX_DEPTH)"
        )
    writer = _GrantWriter(store)
    # Collapsed nodes expand every member pair, so progress counts pairs, not edges.
    pairs = sum(len(e.source_ids) * len(e.destination_ids) for layer in layers for e in layer)
    done = 0
    for number, layer in enumerate(layers, start=1):
        for edge in layer:
            for source_id in edge.source_ids:
                for destination_id in edge.destination_ids:
                    cancel.raise_if_cancelled()
                    if not writer.expand_edge(source_id, destination_id, edge.spec):
                        dropped += 1
                    done += 1
                    if on_progress is not None:
                        on_progress(ExpansionProgress(number, len(layers), done, pairs))
        writer.flush()
    store.mark_expansion_done()
    return ExpansionResult(
        edges=edges,
        dropped_edges=dropped,
        cycles_collapsed=collapsed,
        layers=len(layers),
        grants_created=writer.created,
        grants_updated=writer.updated,
    )


def load_graph(store: ExpansionStore) -> tuple[EntitlementGraph, int]:
    """Step 1: the graph of pending GrantExpandable edges, and how many edges were dropped."""
    graph = EntitlementGraph()
    dropped = 0
    # Source entitlement id -> its resource (type, id), or None when it is not in the store.
    owners: dict[str, PrincipalKey | None] = {}
    for pending in store.pending_expansions():
        expandable = pending.expandable
        spec = EdgeSpec.of(expandable.shallow, expandable.resource_type_ids)
        principal = (pending.principal_type_id, pending.principal_id)
        for source_id in expandable.entitlement_ids:
            if source_id not in owners:
                source = store.get_entitlement(source_id)
                owners[source_id] = None if source is None else _key(source.resource.id)
            owner = owners[source_id]
            if owner is None:
                dropped += 1
                continue
            if owner != principal:
                raise FailedPreconditionError(
                    f"grant expansion: source entitlement {source_id!r} belongs to {owner[0]}:{owner[1]}, "
                    f"not to the grant's principal {principal[0]}:{principal[1]} "
                    f"(grant on {pending.entitlement_id!r})"
                )
            graph.add_edge(source_id, pending.entitlement_id, spec)
    return graph, dropped


def _key(resource_id: ResourceId) -> PrincipalKey:
    return (resource_id.resource_type, resource_id.resource)


def is_direct(grant: Grant, source_id: str) -> bool:
    """A grant is direct for S when it was never expanded or S itself is among its sources."""
    sources = grant.sources.sources
    return not sources or source_id in sources


def add_source(grant: Grant, destination_id: str, source_id: str, direct: bool) -> bool:
    """Record ``source_id`` on an existing grant of ``destination_id``; True if it changed."""
    sources = grant.sources.sources
    changed = False
    if not sources:
        # The grant was held directly before expansion found another way to it; keep saying so.
        sources[destination_id].is_direct = True
        changed = True
    if source_id not in sources:
        sources[source_id].is_direct = direct
        changed = True
    elif direct and not sources[source_id].is_direct:
        sources[source_id].is_direct = True
        changed = True
    return changed


def new_expanded_grant(entitlement: Entitlement, source_grant: Grant, source_id: str, direct: bool) -> Grant:
    """The grant expansion creates for a holder of ``source_id`` (the reference for ``_Destination``)."""
    principal = source_grant.principal
    grant = Grant(
        id=f"{entitlement.id}:{principal.id.resource_type}:{principal.id.resource}",
        entitlement=entitlement,
        principal=principal,
    )
    grant.sources.sources[source_id].is_direct = direct
    immutable = any_pb2.Any()
    immutable.Pack(annotation_grant_pb2.GrantImmutable())
    grant.annotations.append(immutable)
    return grant


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SHORT_LENGTHS = [bytes((n,)) for n in range(0x80)]


def _field(tag: bytes, payload: bytes) -> bytes:
    size = len(payload)
    return tag + (_SHORT_LENGTHS[size] if size < 0x80 else _varint(size)) + payload


_PRINCIPAL_TAG = b"\x12"  # Grant.principal = 2
_ID_TAG = b"\x1a"  # Grant.id = 3


class _Destination:
    """An entitlement expansion writes grants of, with the parts every new grant shares.

    New grants are assembled from serialized parts instead of being built as
    messages: deterministic serialization writes fields in field-number order, so
    ``entitlement (1) + principal (2) + id (3) + annotations (4) + sources (5)``
    is byte for byte what ``new_expanded_grant(...).SerializeToString(deterministic=True)``
    gives (a test holds the two together), at a fraction of the cost.
    """

    __slots__ = ("_entitlement_field", "_suffixes", "columns", "entitlement", "id")

    def __init__(self, entitlement: Entitlement) -> None:
        self.entitlement = entitlement
        self.id = entitlement.id
        rid = entitlement.resource.id
        self.columns = (rid.resource_type, rid.resource, entitlement.id)
        self._entitlement_field = Grant(entitlement=entitlement).SerializeToString(deterministic=True)
        self._suffixes: dict[tuple[str, bool], bytes] = {}

    def new_grant(self, source_grant: Grant, source_id: str, direct: bool) -> tuple[str, bytes]:
        """The id and serialized bytes of ``new_expanded_grant(self.entitlement, ...)``."""
        principal = source_grant.principal
        pid = principal.id
        grant_id = f"{self.id}:{pid.resource_type}:{pid.resource}"
        suffix = self._suffixes.get((source_id, direct))
        if suffix is None:
            tail = Grant(annotations=[_IMMUTABLE])
            tail.sources.sources[source_id].is_direct = direct
            suffix = self._suffixes[(source_id, direct)] = tail.SerializeToString(deterministic=True)
        data = b"".join(
            (
                self._entitlement_field,
                _field(_PRINCIPAL_TAG, principal.SerializeToString(deterministic=True)),
                _field(_ID_TAG, grant_id.encode()),
                suffix,
            )
        )
        return grant_id, data


_IMMUTABLE = any_pb2.Any()
_IMMUTABLE.Pack(annotation_grant_pb2.GrantImmutable())

# What a principal holds on a destination during a flush window: decoded grants, or the bytes of
# grants this window created (decoded only if another source reaches them before the flush).
_Held = list[Grant | bytes]


class _GrantWriter:
    """Expands edges, buffering writes; reads see the buffer before the store."""

    def __init__(self, store: ExpansionStore) -> None:
        self._store = store
        # (destination id, principal) -> that principal's current grants on it, for keys with
        # unflushed writes; lookups consult it before the store.
        self._pending: dict[tuple[str, str, str], _Held] = {}
        self._dirty: dict[str, ExpandedRow] = {}
        self._dirty_entitlements: set[str] = set()
        self._destinations: dict[str, _Destination | None] = {}
        self.created = 0
        self.updated = 0

    def expand_edge(self, source_id: str, destination_id: str, spec: EdgeSpec) -> bool:
        """Give holders of ``source_id`` ``destination_id``; False if the destination is missing."""
        destination = self._destination(destination_id)
        if destination is None:
            return False
        if source_id in self._dirty_entitlements:
            # Never the case with topological layers; cheap insurance that reads see every write.
            self.flush()
        types = sorted(spec.resource_type_ids or ())
        for page in self._store.grant_pages(source_id, types):
            chosen = [g for g in page if not spec.shallow or is_direct(g, source_id)]
            if chosen:
                self._expand_page(chosen, source_id, destination)
            if len(self._dirty) > FLUSH_THRESHOLD:
                self.flush()
        return True

    def _expand_page(self, grants: list[Grant], source_id: str, destination: _Destination) -> None:
        dest_id = destination.id
        held = self._held(dest_id, {_key(g.principal.id) for g in grants})
        pending = self._pending
        for source_grant in grants:
            principal = _key(source_grant.principal.id)
            direct = is_direct(source_grant, source_id)
            current = held.get(principal)
            key = (dest_id, *principal)
            if not current:
                grant_id, data = destination.new_grant(source_grant, source_id, direct)
                held[principal] = pending[key] = [data]
                self._dirty[grant_id] = (*destination.columns, *principal, grant_id, data)
                self.created += 1
                continue
            changed = False
            for index, entry in enumerate(current):
                grant = Grant.FromString(entry) if isinstance(entry, bytes) else entry
                if add_source(grant, dest_id, source_id, direct):
                    row = _row(grant)
                    current[index] = row[6]  # kept serialized until another source reaches it
                    self._dirty[grant.id] = row
                    self.updated += 1
                    changed = True
            if changed:
                # Unchanged grants need no overlay: the store still holds their current state.
                pending[key] = current
        self._dirty_entitlements.add(dest_id)

    def _held(self, destination_id: str, principals: set[PrincipalKey]) -> dict[PrincipalKey, _Held]:
        held: dict[PrincipalKey, _Held] = {}
        missing = []
        for principal in principals:
            buffered = self._pending.get((destination_id, *principal))
            if buffered is not None:
                held[principal] = buffered
            else:
                missing.append(principal)
        if missing:
            for principal, grants in self._store.grants_for_principals(destination_id, missing).items():
                held[principal] = list(grants)
        return held

    def _destination(self, entitlement_id: str) -> _Destination | None:
        if entitlement_id not in self._destinations:
            if len(self._destinations) >= _ENTITLEMENT_CACHE:
                self._destinations.clear()
            found = self._store.get_entitlement(entitlement_id)
            self._destinations[entitlement_id] = None if found is None else _Destination(found)
        return self._destinations[entitlement_id]

    def flush(self) -> None:
        if self._dirty:
            self._store.upsert_expanded_rows(list(self._dirty.values()))
        self._dirty.clear()
        self._pending.clear()
        self._dirty_entitlements.clear()


def _row(entry: Grant) -> ExpandedRow:
    entitlement = entry.entitlement
    target = entitlement.resource.id
    principal = entry.principal.id
    return (
        target.resource_type,
        target.resource,
        entitlement.id,
        principal.resource_type,
        principal.resource,
        entry.id,
        entry.SerializeToString(deterministic=True),
    )

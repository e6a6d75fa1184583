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

import operator
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf import any_pb2

from baton_cli.connector.api import Entitlement, Grant, Resource, ResourceId
from baton_cli.core.cancel import CancelToken
from baton_cli.core.expand_graph import EdgeSpec, EntitlementGraph, LayerEdge
from baton_cli.core.grant_parts import (
    SHORT_LENGTHS,
    HolderReader,
    length_delimited,
    split_principal_and_sources,
    varint,
)
from baton_cli.errors import FailedPreconditionError
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, grant_pb2

DEFAULT_MAX_DEPTH = 20
# Written grants are handed to the store in batches of this many. Each grant is written once
# per destination window (its holders are gathered first), so a smaller batch than upstream's
# 10,000 costs no extra writes, only a few more statements, and keeps less in memory.
FLUSH_THRESHOLD = 2_000
# Principals gathered for one destination before its grants are written (about 500 bytes each);
# a destination with more holders writes them in windows, and later arrivals read them back.
GATHER_LIMIT = 20_000
# Holders whose existing grants on the destination are looked up (and held decoded) at once.
LOOKUP_CHUNK = 1_000
# Destination entitlements kept decoded; bounded so huge graphs do not hold every one.
_ENTITLEMENT_CACHE = 4096
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})

PrincipalKey = tuple[str, str]  # (resource type id, resource id)
# A grant as expansion writes it, in the v1_grants column order: (entitlement resource type,
# entitlement resource id, entitlement id, principal type, principal id, grant id, serialized
# grant). Expansion serializes, so the store writes bytes it is handed as they are.
ExpandedRow = tuple[str, str, str, str, str, str, bytes]
# A grant of a source entitlement as expansion reads it: (principal type, principal id,
# serialized grant, the store's row id, unused here). The principal's key comes from the store's
# columns, not the message.
HolderRow = tuple[str, str, bytes, int]


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

    def holder_pages(
        self, entitlement_id: str, principal_types: Collection[str] = ()
    ) -> Iterator[list[HolderRow]]:
        """The grants of an entitlement in pages, restricted to principal types when given:
        (principal type, principal id, serialized grant, row id), each principal's grants in the
        order they were stored (the order of principals is the store's)."""
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
        for destination_id, sources in _by_destination(layer).items():
            for source_id, spec in sources:
                cancel.raise_if_cancelled()
                if not writer.expand_edge(source_id, destination_id, spec):
                    dropped += 1
                done += 1
                if on_progress is not None:
                    on_progress(ExpansionProgress(number, len(layers), done, pairs))
            writer.finish_destination()
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


def _by_destination(layer: Sequence[LayerEdge]) -> dict[str, list[tuple[str, EdgeSpec]]]:
    """A layer's entitlement pairs grouped by destination, each group in the layer's edge order.

    Sources of a layer are never destinations in it (topological layers), so a destination's
    holders can be gathered from all its sources first and its grants written once each.
    """
    grouped: dict[str, list[tuple[str, EdgeSpec]]] = {}
    for edge in layer:
        for source_id in edge.source_ids:
            for destination_id in edge.destination_ids:
                grouped.setdefault(destination_id, []).append((source_id, edge.spec))
    return grouped


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


_PRINCIPAL_TAG = b"\x12"  # Grant.principal = 2
_ID_TAG = b"\x1a"  # Grant.id = 3
_SOURCES_TAG = b"\x2a"  # Grant.sources = 5

_IMMUTABLE = any_pb2.Any()
_IMMUTABLE.Pack(annotation_grant_pb2.GrantImmutable())
_IMMUTABLE_FIELD = Grant(annotations=[_IMMUTABLE]).SerializeToString(deterministic=True)


def principal_field(principal: Resource) -> bytes:
    """``Grant.principal`` as a serialized field, the part of a new grant its holder gives."""
    return length_delimited(_PRINCIPAL_TAG, principal.SerializeToString(deterministic=True))


class _SourceEntries:
    """Serialized ``GrantSources`` map entries, one per (source entitlement, is_direct).

    A map is a repeated field of entries, and deterministic serialization writes them in key
    order, so the entries of a grant's sources joined in sorted key order are its
    ``GrantSources`` bytes.
    """

    __slots__ = ("_entries", "_single_tails")

    def __init__(self) -> None:
        self._entries: dict[tuple[str, bool], bytes] = {}
        # The annotations + sources tail of a grant with one source, the common case, whole.
        self._single_tails: dict[tuple[str, bool], bytes] = {}

    def field(self, sources: Mapping[str, bool]) -> bytes:
        items = sorted(sources.items()) if len(sources) > 1 else sources.items()
        try:
            payload = b"".join([self._entries[item] for item in items])
        except KeyError:
            payload = b"".join([self._entry(item) for item in items])
        return length_delimited(_SOURCES_TAG, payload)

    def tail(self, sources: Mapping[str, bool]) -> bytes:
        """``Grant.annotations`` (GrantImmutable) and ``Grant.sources``, fields 4 and 5."""
        if len(sources) == 1:
            item = next(iter(sources.items()))
            found = self._single_tails.get(item)
            if found is None:
                found = self._single_tails[item] = _IMMUTABLE_FIELD + self.field(sources)
            return found
        return _IMMUTABLE_FIELD + self.field(sources)

    def _entry(self, item: tuple[str, bool]) -> bytes:
        entry = self._entries.get(item)
        if entry is None:
            one = grant_pb2.GrantSources()
            one.sources[item[0]].is_direct = item[1]
            entry = self._entries[item] = one.SerializeToString(deterministic=True)
        return entry


class _Destination:
    """An entitlement expansion writes grants of, with the parts every new grant shares.

    New grants are assembled from serialized parts instead of being built as
    messages: deterministic serialization writes fields in field-number order, so
    ``entitlement (1) + principal (2) + id (3) + annotations (4) + sources (5)``
    is byte for byte what building the grant (``new_expanded_grant`` and then any
    further sources) and serializing it deterministically gives (tests hold the two
    together), at a fraction of the cost.
    """

    __slots__ = ("_entitlement_field", "_entries", "_id_prefix", "columns", "entitlement", "id")

    def __init__(self, entitlement: Entitlement, entries: _SourceEntries | None = None) -> None:
        self.entitlement = entitlement
        self.id = entitlement.id
        self._id_prefix = f"{entitlement.id}:"
        rid = entitlement.resource.id
        self.columns = (rid.resource_type, rid.resource, entitlement.id)
        self._entitlement_field = Grant(entitlement=entitlement).SerializeToString(deterministic=True)
        self._entries = entries or _SourceEntries()

    def new_grant(
        self, principal: PrincipalKey, principal_bytes: bytes, sources: Mapping[str, bool]
    ) -> tuple[str, bytes]:
        """The id and serialized bytes of the grant of this entitlement expansion creates for
        ``principal`` (whose ``principal_field`` is ``principal_bytes``) with ``sources``."""
        grant_id = self._id_prefix + principal[0] + ":" + principal[1]
        encoded = grant_id.encode()
        size = len(encoded)
        data = b"".join(
            (
                self._entitlement_field,
                principal_bytes,
                _ID_TAG,
                SHORT_LENGTHS[size] if size < 0x80 else varint(size),
                encoded,
                self._entries.tail(sources),
            )
        )
        return grant_id, data


# A principal that reaches the destination being gathered: its ``Resource`` payload as the first
# source grant read stored it, and (source entitlement id, is_direct) in the order read.
_Holder = tuple[bytes, list[tuple[str, bool]]]


class _GrantWriter:
    """Gathers a destination's holders from all its sources, then writes each grant once.

    Applying a destination's (source, is_direct) arrivals to a grant in the order they were
    read gives what applying them one edge at a time would (``add_source`` only ever adds
    sources or upgrades them to direct), so a grant several sources reach is built or
    re-serialized once instead of once per source, and the store is asked for the
    destination's existing grants once per window instead of once per page.
    """

    def __init__(self, store: ExpansionStore) -> None:
        self._store = store
        self._gathering: _Destination | None = None
        self._holders: dict[PrincipalKey, _Holder] = {}
        self._reader = HolderReader()
        self._dirty: dict[str, ExpandedRow] = {}
        self._dirty_entitlements: set[str] = set()
        self._destinations: dict[str, _Destination | None] = {}
        self._entries = _SourceEntries()
        self.created = 0
        self.updated = 0

    def expand_edge(self, source_id: str, destination_id: str, spec: EdgeSpec) -> bool:
        """Gather holders of ``source_id`` for ``destination_id``; False if the destination is missing."""
        destination = self._destination(destination_id)
        if destination is None:
            return False
        if self._gathering is not None and self._gathering.id != destination_id:
            self.finish_destination()
        self._gathering = destination
        if source_id in self._dirty_entitlements:
            # Never the case with topological layers; cheap insurance that reads see every write.
            self.flush()
        types = sorted(spec.resource_type_ids or ())
        shallow = spec.shallow
        holders = self._holders
        # HolderReader.read, inlined: the hot loop (most source grants have no sources at all).
        decode, source_keys = self._reader.decode, self._reader.source_keys
        cached_keys = self._reader.cached_source_keys
        arrivals = {True: (source_id, True), False: (source_id, False)}  # one tuple per edge, not row
        for page in self._store.holder_pages(source_id, types):
            for principal_type, principal_id, data, _ in page:
                parts = split_principal_and_sources(data)
                if parts is None:
                    principal, keys = decode(data)
                    direct = not keys or source_id in keys  # is_direct, inlined
                else:
                    principal, sources = parts
                    if sources:
                        keys = cached_keys.get(sources) or source_keys(sources)
                        direct = not keys or source_id in keys
                    else:
                        direct = True
                if shallow and not direct:
                    continue
                key = (principal_type, principal_id)
                holder = holders.get(key)
                if holder is None:
                    holders[key] = (principal, [arrivals[direct]])
                else:
                    holder[1].append(arrivals[direct])
            if len(holders) >= GATHER_LIMIT:
                self._write_gathered()
                self.flush()
                holders = self._holders
        return True

    def finish_destination(self) -> None:
        """Write the grants of the destination gathered so far."""
        self._write_gathered()
        self._gathering = None

    def _write_gathered(self) -> None:
        destination, holders = self._gathering, self._holders
        if destination is None or not holders:
            return
        self._holders = {}
        dest_id = destination.id
        if dest_id in self._dirty_entitlements:
            self.flush()  # the lookup below must see every earlier write
        dirty = self._dirty
        columns = destination.columns
        new_grant = destination.new_grant
        principal_field_of = self._reader.principal_field
        principal_fields = self._reader.principal_fields
        created = updated = 0
        gathered = list(holders.items())
        for start in range(0, len(gathered), LOOKUP_CHUNK):
            chunk = gathered[start : start + LOOKUP_CHUNK]
            # Existing grants come decoded (kilobytes each): asked for a chunk of holders at a
            # time. Chunks are disjoint, so writes between them never touch a later lookup.
            existing = self._store.grants_for_principals(dest_id, [principal for principal, _ in chunk])
            for principal, (stored, reached) in chunk:
                if existing and (grants := existing.get(principal)):
                    for grant in grants:
                        changes = sum(add_source(grant, dest_id, s, d) for s, d in reached)
                        if changes:
                            updated += changes
                            dirty[grant.id] = _row(grant)
                    continue
                if len(reached) == 1:
                    sources = dict(reached)
                else:
                    # add_source's rule for a grant with sources: a new source, or an upgrade to direct.
                    sources = {}
                    for source_id, direct in reached:
                        known = sources.get(source_id)
                        if known is None or (direct and not known):
                            sources[source_id] = direct
                            updated += 1
                    updated -= 1  # the first arrival created the grant
                principal_bytes = principal_fields.get(stored) or principal_field_of(stored)
                grant_id, data = new_grant(principal, principal_bytes, sources)
                dirty[grant_id] = (*columns, *principal, grant_id, data)
                created += 1
            if len(dirty) >= FLUSH_THRESHOLD:
                self.flush()  # the chunk's lookup is done: writing this destination now is safe
        self.created += created
        self.updated += updated
        self._dirty_entitlements.add(dest_id)

    def _destination(self, entitlement_id: str) -> _Destination | None:
        if entitlement_id not in self._destinations:
            if len(self._destinations) >= _ENTITLEMENT_CACHE:
                self._destinations.clear()
            found = self._store.get_entitlement(entitlement_id)
            self._destinations[entitlement_id] = None if found is None else _Destination(found, self._entries)
        return self._destinations[entitlement_id]

    def flush(self) -> None:
        if self._dirty:
            self._store.upsert_expanded_rows(sorted(self._dirty.values(), key=_GRANT_ID))
        self._dirty.clear()
        self._dirty_entitlements.clear()


_GRANT_ID = operator.itemgetter(5)


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
